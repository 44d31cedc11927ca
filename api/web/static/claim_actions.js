// A reviewer's requests on one claim of the report under review: "Strike" takes it out (the
// reason asked for and kept), "Find a source" sends the report back for one round of research
// for it. Both POST to the claim routes (api/routes/claims.py) like the decision form posts
// acceptance: a fresh request id, sent again with it while the reply is lost, the reviewer's
// name from this browser, and the API's refusal shown as it is.

import { el, newRequestId, runPath, sendInput, showError } from "./common.js";

const NAME_KEY = "research.reviewer"; // the name the review form remembers (review.js)

function reviewer() {
  return localStorage.getItem(NAME_KEY) || undefined;
}

function claimPath(runId, claimId, action) {
  return runPath(runId, `/claims/${encodeURIComponent(claimId)}/${action}`);
}

// Each claim of `doc` (the server's HTML of the pending report: li.claim[data-claim]) gets its
// buttons: a kept claim both, one removed as unsupported only "Find a source" (the workflow
// takes that too), a struck one none. `onStruck` reloads the report; `onFound` the whole run.
export function addClaimActions(doc, runId, alert, { onStruck, onFound }) {
  const post = async (controls, path, body) => {
    controls.forEach((c) => (c.disabled = true));
    try {
      const result = await sendInput(path, body);
      showError(alert, null);
      return result;
    } catch (err) {
      showError(alert, err);
      return null;
    } finally {
      controls.forEach((c) => (c.disabled = false));
    }
  };
  for (const item of doc.querySelectorAll("li.claim[data-claim]")) {
    const support = item.dataset.support;
    if (support === "struck") continue;
    const claimId = item.dataset.claim;
    const buttons = [];
    const strike = async () => {
      const reason = window.prompt("Strike this claim from the report. Why? (optional)", "");
      if (reason === null) return;
      const body = { reason: reason.trim(), struck_by: reviewer(), request_id: newRequestId() };
      if (await post(buttons, claimPath(runId, claimId, "strike"), body)) onStruck();
    };
    const find = async () => {
      if (!window.confirm("Send the report back to search for a source for this claim? It uses a revision.")) return;
      const body = { requested_by: reviewer(), request_id: newRequestId() };
      if (await post(buttons, claimPath(runId, claimId, "find-source"), body)) onFound();
    };
    if (!item.closest("details.removed")) {
      buttons.push(el("button", { type: "button", class: "claim-action strike", onclick: strike }, "Strike"));
    }
    buttons.push(el("button", { type: "button", class: "claim-action find-source", onclick: find }, "Find a source"));
    item.append(el("span", { class: "claim-actions" }, buttons));
  }
}
