// The input a run waits for: its clarifying questions as a form, or the plan / report under
// review with Accept and Reject-with-comment. The API decides what is allowed; a refusal is
// shown with the API's own message.

import { api, busy, el, newRequestId, runPath, sendInput, showError, when } from "./common.js";
import { serverHtml } from "./citations.js";
import { addClaimActions } from "./claim_actions.js";

const TITLES = {
  clarification: "The run asks you first",
  plan: "The plan awaits your approval",
  report: "The report awaits your review",
  approval: "Awaiting your approval",
  budget: "The run's budget ran out",
};

function meta(pending) {
  const parts = [];
  if (!["clarification", "budget"].includes(pending.kind)) {
    parts.push(`revision ${pending.revision}`);
    parts.push(`${pending.revisions_left} rejection${pending.revisions_left === 1 ? "" : "s"} left`);
  }
  if (pending.deadline) parts.push(`answer by ${when(pending.deadline)}`);
  return el("p", { class: "muted" }, parts.join(" · "));
}

// Who answers: remembered in this browser only, sent as answered_by / decided_by.
const NAME_KEY = "research.reviewer";

function nameField() {
  const input = el("input", { type: "text", name: "reviewer", class: "reviewer", placeholder: "anonymous", size: 18 });
  input.value = localStorage.getItem(NAME_KEY) || "";
  return el("label", { class: "signed" }, "Your name ", input);
}

function signedBy(form) {
  const name = form.querySelector("input.reviewer").value.trim();
  if (name) localStorage.setItem(NAME_KEY, name);
  else localStorage.removeItem(NAME_KEY);
  return name || undefined;
}

function done(form, text) {
  form.replaceWith(el("p", { class: "notice", role: "status" }, text));
}

function clarificationForm(runId, pending, onDone) {
  const alert = el("div", { class: "alert", role: "alert", hidden: true });
  const fields = pending.questions.map((q) =>
    el(
      "div",
      { class: "field" },
      el("label", { for: `answer-${q.id}` }, el("span", { class: "qid" }, q.id), " ", q.text),
      el("textarea", { id: `answer-${q.id}`, name: q.id, rows: 2 }),
    ),
  );
  const send = async (body) => {
    try {
      await busy(form, () => sendInput(runPath(runId, "/clarification"), body));
      done(form, body.skip ? "Questions skipped. The run goes on." : "Answers sent. The run goes on.");
      onDone();
    } catch (err) {
      showError(alert, err);
    }
  };
  const skip = () => send({ skip: true, answered_by: signedBy(form), request_id: newRequestId() });
  const form = el(
    "form",
    { id: "clarify-form", class: "stack" },
    el("p", {}, "Answer what you can; a blank answer is left out. Or skip the questions."),
    fields,
    alert,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "submit", class: "primary" }, "Send answers"),
      el("button", { type: "button", onclick: skip }, "Skip questions"),
      nameField(),
    ),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const answers = {};
    for (const area of form.querySelectorAll("textarea")) {
      if (area.value.trim()) answers[area.name] = area.value;
    }
    send({ answers, answered_by: signedBy(form), request_id: newRequestId() });
  });
  return form;
}

// The plan's items, one per line, without their numbers: what the edit box starts from.
function planItems(content) {
  return (content || "").split("\n").map((line) => line.replace(/^\s*\d{1,2}[.)]\s*/, "").trim()).filter(Boolean);
}

function decisionForm(runId, pending, onDone) {
  const alert = el("div", { class: "alert", role: "alert", hidden: true });
  const comment = el("textarea", { id: "decision-comment", name: "comment", rows: 3 });
  // At plan review: the plan as editable items; "Accept edited plan" sends them (the API checks them).
  const items = planItems(pending.content);
  const planBox =
    pending.kind === "plan"
      ? el("textarea", { id: "plan-edit", name: "plan", rows: Math.max(items.length + 1, 4) })
      : null;
  if (planBox) planBox.value = items.join("\n");
  const decide = async (accepted, edited = false) => {
    const body = { accepted, comment: comment.value, decided_by: signedBy(form), request_id: newRequestId() };
    if (edited) body.plan = planBox.value.split("\n").map((line) => line.trim()).filter(Boolean);
    try {
      await busy(form, () => sendInput(runPath(runId, "/acceptance"), body));
      const text = edited ? "Edited plan accepted. The run researches it." : "Accepted. The run goes on.";
      done(form, accepted ? text : `Sent back with your comment.`);
      onDone();
    } catch (err) {
      showError(alert, err);
    }
  };
  const editor = planBox
    ? [el("label", { for: "plan-edit" }, "Edit the plan: one item per line (add, remove or reword items)"), planBox]
    : [];
  const form = el(
    "form",
    { id: "decision-form", class: "stack", onsubmit: (e) => e.preventDefault() },
    editor,
    el("label", { for: "decision-comment" }, "Comment (say what to change when you reject)"),
    comment,
    alert,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "primary", onclick: () => decide(true) }, "Accept"),
      planBox
        ? el("button", { type: "button", id: "accept-edited", onclick: () => decide(true, true) }, "Accept edited plan")
        : null,
      el("button", { type: "button", class: "danger", onclick: () => decide(false) }, "Reject with comment"),
      nameField(),
    ),
  );
  return form;
}

// The limits a run paused on its budget may go on with. Values go to the API as typed (a
// number when they look like one), so its own messages are the rules the person meets.
const LIMITS = [
  { name: "max_tokens", label: "Max tokens", hint: "the run's new token limit", mode: "numeric" },
  { name: "max_cost_usd", label: "Max cost (USD)", hint: "the run's new cost limit", mode: "decimal" },
  { name: "max_duration", label: "Max duration", hint: "ISO 8601 (PT2H) or seconds, from the start" },
];

function spent(usage) {
  const tokens = usage.prompt_tokens + usage.completion_tokens;
  const cost = `$${Number(usage.cost_usd || 0).toFixed(4)}`;
  const rows = [["Tokens", tokens], ["Cost", cost], ["LLM calls", usage.llm_calls]];
  return el("dl", { id: "budget-spent", class: "spent" }, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))]));
}

function budgetForm(runId, onDone) {
  const alert = el("div", { class: "alert", role: "alert", hidden: true });
  const inputs = LIMITS.map((f) =>
    el("input", { type: "text", id: `budget-${f.name}`, name: f.name, inputmode: f.mode, size: 10 }),
  );
  const decide = async (accepted) => {
    const body = { accepted, decided_by: signedBy(form), request_id: newRequestId() };
    if (accepted) {
      const limits = {};
      for (const input of inputs) {
        const text = input.value.trim();
        if (text) limits[input.name] = /^\d+(\.\d+)?$/.test(text) ? Number(text) : text;
      }
      // None typed: sent without limits, and the API says what going on needs.
      if (Object.keys(limits).length) body.budget = limits;
    }
    try {
      await busy(form, () => sendInput(runPath(runId, "/acceptance"), body));
      done(form, accepted ? "Budget extended. The run goes on." : "Stopped. The run writes a partial report.");
      onDone();
    } catch (err) {
      showError(alert, err);
    }
  };
  const fields = LIMITS.map((f, i) =>
    el("div", { class: "field" }, el("label", { for: inputs[i].id }, f.label), inputs[i], el("small", { class: "muted" }, f.hint)),
  );
  const form = el(
    "form",
    { id: "budget-form", class: "stack", onsubmit: (e) => e.preventDefault() },
    el("p", {}, "Give new limits to go on (leave one empty to keep it), or stop with what the run has."),
    el("div", { class: "option-grid" }, fields),
    alert,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", class: "primary", onclick: () => decide(true) }, "Extend and go on"),
      el("button", { type: "button", class: "danger", onclick: () => decide(false) }, "Stop with a partial report"),
      nameField(),
    ),
  );
  return form;
}

// A stable key for what is pending, so a refresh does not wipe what the person is typing.
export function pendingKey(pending) {
  return pending ? `${pending.kind}:${pending.revision}:${pending.since}` : "";
}

export function renderPending(box, runId, pending, { onDone, onCite, usage }) {
  box.replaceChildren();
  box.hidden = !pending;
  if (!pending) return;
  box.dataset.kind = pending.kind;
  box.append(el("h2", {}, TITLES[pending.kind] || "Awaiting your input"), meta(pending));
  if (pending.kind === "clarification") {
    box.append(clarificationForm(runId, pending, onDone));
    return;
  }
  if (pending.kind === "budget") {
    // What ran out, in the run's words, then what it spent so far.
    box.append(el("p", { id: "budget-reason" }, pending.content || ""), spent(usage));
    box.append(budgetForm(runId, onDone));
    return;
  }
  const attrs = { class: "doc", id: "pending-content" };
  // content_html is the server's sanitised rendering of content (GET /runs/{id}?pending_html=true).
  const doc = pending.content_html
    ? serverHtml(attrs, pending.content_html, onCite)
    : el("article", attrs, el("p", { class: "muted" }, "The text under review is not available."));
  box.append(doc);
  if (pending.kind === "report" && pending.content_html) box.append(claimControls(doc, runId, onDone));
  box.append(decisionForm(runId, pending, onDone));
}

// A report written as claims gets Strike / Find a source on each claim. After a strike the
// report under review is fetched again (the run re-rendered it), so the claim shows as struck.
function claimControls(doc, runId, onDone) {
  const alert = el("div", { class: "alert", role: "alert", hidden: true, id: "claims-error" });
  const decorate = () => addClaimActions(doc, runId, alert, { onStruck: reload, onFound: onDone });
  const reload = async () => {
    try {
      const view = await api("GET", runPath(runId, "?pending_html=true"));
      const html = view.pending?.kind === "report" ? view.pending.content_html : null;
      if (html) {
        doc.innerHTML = html; // the server's sanitised HTML, as serverHtml puts it in
        decorate();
      }
    } catch (err) {
      showError(alert, err);
    }
    onDone();
  };
  decorate();
  return alert;
}
