// The runs page: start a run (POST /runs) and list runs (GET /runs, from Temporal visibility).
// The form sends what the person typed and lets the API judge it, so its messages are the
// only rules the person meets.

import { api, badge, busy, el, label, runPath, showError, when } from "./common.js";

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 20;
const REFRESH_MS = 10000;
const list = { token: null, pages: 0 };

function startBody(form) {
  const data = new FormData(form);
  const body = { question: String(data.get("question") || "") };
  const runId = String(data.get("run_id") || "").trim();
  if (runId) body.run_id = runId;
  const options = {};
  for (const input of form.querySelectorAll("[data-option]")) {
    if (input.type === "checkbox") options[input.name] = input.checked;
    else if (input.value.trim() !== "") {
      // Not a number: sent as typed, so the person sees the API's own message about it.
      const text = input.value.trim();
      options[input.name] = /^-?\d+$/.test(text) ? Number(text) : text;
    }
  }
  const timeout = String(data.get("input_timeout") || "").trim();
  if (timeout) options.input_timeout = /^\d+$/.test(timeout) ? Number(timeout) : timeout;
  body.options = options;
  return body;
}

$("start-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const alert = $("start-error");
  const body = startBody(form); // before busy(): disabled fields are left out of FormData
  try {
    const created = await busy(form, () => api("POST", "/runs", body));
    showError(alert, null);
    window.location.assign(runPath(created.run_id));
  } catch (err) {
    showError(alert, err);
  }
});

function row(run) {
  const question = run.question || "(no question recorded)";
  return el(
    "tr",
    { "data-run-id": run.run_id, class: run.status === "awaiting_input" ? "needs-you" : "" },
    el("td", {}, el("a", { href: runPath(run.run_id) }, question), el("div", { class: "muted small" }, run.run_id)),
    el("td", {}, badge(run.status)),
    el("td", {}, label(run.stage)),
    el("td", { class: "small" }, when(run.started_at)),
    el("td", { class: "small" }, when(run.closed_at)),
  );
}

async function loadRuns({ more = false } = {}) {
  const params = new URLSearchParams({ page_size: String(PAGE_SIZE) });
  const status = $("status-filter").value;
  if (status) params.set("status", status);
  if (more && list.token) params.set("page_token", list.token);
  const body = $("runs-body");
  try {
    const page = await api("GET", `/runs?${params}`);
    showError($("runs-error"), null);
    if (!more) {
      body.replaceChildren();
      list.pages = 0;
    }
    list.pages += 1;
    list.token = page.next_page_token || null;
    body.append(...page.runs.map(row));
    if (!body.children.length) {
      const empty = status ? `No runs are ${label(status)}.` : "No runs yet. Start one above.";
      body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, empty)));
    }
    $("more").hidden = !list.token;
  } catch (err) {
    showError($("runs-error"), err);
  }
}

$("status-filter").addEventListener("change", () => loadRuns());
$("refresh").addEventListener("click", () => loadRuns());
$("more").addEventListener("click", () => loadRuns({ more: true }));
// Visibility is cheap to read, but only the first page refreshes itself: a person who paged
// further keeps the rows they are looking at.
setInterval(() => {
  if (list.pages <= 1 && document.visibilityState === "visible") loadRuns();
}, REFRESH_MS);
loadRuns();
