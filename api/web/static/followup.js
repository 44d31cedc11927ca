// "Ask a follow-up" on a finished run: POST /runs/{id}/followups starts a new run seeded with
// this run's sources and report, and the page moves to it. A follow-up run links back to the
// run it follows, and a followed run lists its follow-ups (GET /runs/{id}/followups).

import { api, busy, el, runPath, showError } from "./common.js";

export async function renderFollowUps(box, runId, view) {
  const back = view.follow_up_of
    ? el("p", {}, "Follows up ", el("a", { href: runPath(view.follow_up_of) }, view.follow_up_of))
    : null;
  const question = el("textarea", { id: "followup-question", name: "question", rows: 2, required: true, maxlength: 4000 });
  const alert = el("div", { class: "alert", role: "alert", hidden: true });
  const form = el(
    "form",
    { id: "followup-form" },
    el("label", { for: "followup-question" }, "Ask a follow-up (reuses this run's sources and report)"),
    question,
    el("div", { class: "actions" }, el("button", { type: "submit" }, "Ask a follow-up")),
    alert,
  );
  form.hidden = !view.report_ref; // a run that ended without a report has nothing to follow up
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const started = await busy(form, () => api("POST", runPath(runId, "/followups"), { question: question.value }));
      window.location.assign(runPath(started.run_id));
    } catch (err) {
      showError(alert, err);
    }
  });
  const list = el("ul", { id: "followup-list" });
  box.replaceChildren(el("h2", {}, "Follow-ups"), ...(back ? [back] : []), list, form);
  box.hidden = false;
  try {
    const found = await api("GET", runPath(runId, "/followups"));
    list.replaceChildren(...found.runs.map((r) => el("li", {}, el("a", { href: runPath(r.run_id) }, r.question || r.run_id))));
  } catch (err) {
    showError(alert, err);
  }
}
