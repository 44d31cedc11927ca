// Shared helpers: calling the REST API, building DOM nodes, and showing the API's errors.
// Every piece of text from a model or a person goes into the page through textContent (never
// innerHTML), so it is always shown as text and never parsed as markup.

export const API = document.body.dataset.api;

// The API key, for deployments that require one (README "Authentication and limits"). Kept in
// this browser's localStorage, typed into the field in the top bar; sent as a Bearer token.
const KEY_ITEM = "research-api-key";
const keyField = document.getElementById("api-key");
if (keyField) {
  keyField.value = localStorage.getItem(KEY_ITEM) || "";
  keyField.addEventListener("change", () => {
    const key = keyField.value.trim();
    if (key) localStorage.setItem(KEY_ITEM, key);
    else localStorage.removeItem(KEY_ITEM);
  });
}

export function authHeaders(headers = {}) {
  const key = localStorage.getItem(KEY_ITEM);
  return key ? { ...headers, Authorization: `Bearer ${key}` } : headers;
}

// The API's error body {error_code, message, details, request_id}, carried as an exception.
export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `request failed with HTTP ${status}`);
    this.status = status;
    this.code = body?.error_code || "http_" + status;
    this.details = body?.details || {};
  }
}

export async function api(method, path, body) {
  const init = { method, headers: authHeaders({ Accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(API + path, init);
  } catch (err) {
    throw new ApiError(0, { error_code: "unreachable", message: "the API cannot be reached" });
  }
  const type = resp.headers.get("content-type") || "";
  const data = type.includes("json") ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) throw new ApiError(resp.status, typeof data === "object" ? data : null);
  return data;
}

// A file from the API saved by the browser. A plain link would carry no API key, so the file is
// fetched with the key and handed to the browser as a blob.
export async function download(path, filename) {
  const resp = await fetch(API + path, { headers: authHeaders() });
  if (!resp.ok) {
    const body = await resp.json().catch(() => null);
    throw new ApiError(resp.status, body);
  }
  const url = URL.createObjectURL(await resp.blob());
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function runPath(runId, suffix = "") {
  return `/runs/${encodeURIComponent(runId)}${suffix}`;
}

// el("p", {class: "x", onclick: fn}, "text", child) — strings become text nodes.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function label(value) {
  return String(value ?? "").replaceAll("_", " ");
}

export function badge(status) {
  return el("span", { class: `badge status-${status || "unknown"}` }, label(status || "unknown"));
}

export function when(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return isNaN(date) ? String(iso) : date.toLocaleString();
}

// Puts the API's message (and its error code, for a bug report) into an alert box.
export function showError(box, err) {
  box.replaceChildren();
  if (!err) {
    box.hidden = true;
    return;
  }
  const code = err instanceof ApiError ? err.code : "error";
  box.append(el("strong", {}, err.message || String(err)), " ", el("code", {}, code));
  // A 422 lists each field the API refused; "body" is where, not what, so it is left off.
  const fields = err.details?.errors;
  if (Array.isArray(fields) && fields.length) {
    const items = fields.map((f) => {
      const where = (f.loc || []).filter((part) => part !== "body").join(".");
      return el("li", {}, where ? `${where}: ${f.msg}` : String(f.msg));
    });
    box.append(el("ul", {}, items));
  }
  box.hidden = false;
}

// A person's answer or decision is sent again, with the same body and so the same request id,
// while its reply is lost (the network dropped, the API restarted, a proxy answered 502/503/504):
// the run applies it once and answers each repeat with the first result.
const INPUT_RETRY_DELAYS_MS = [500, 1000, 2000, 4000];

export async function sendInput(path, body) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await api("POST", path, body);
    } catch (err) {
      const lost = err.status === 0 || [502, 503, 504].includes(err.status);
      if (!lost || attempt >= INPUT_RETRY_DELAYS_MS.length) throw err;
      await new Promise((resolve) => setTimeout(resolve, INPUT_RETRY_DELAYS_MS[attempt]));
    }
  }
}

export function newRequestId() {
  return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random();
}

// Disables a form's controls while its request is in flight, so a double click sends once.
export async function busy(form, action) {
  const controls = [...form.querySelectorAll("button, input, textarea, select")];
  controls.forEach((c) => (c.disabled = true));
  form.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    controls.forEach((c) => (c.disabled = false));
    form.removeAttribute("aria-busy");
  }
}
