// One run, live. Every event on the stream triggers a fresh GET /runs/{id} (coalesced), so the
// page always shows the API's own view; without the stream it polls instead.

import { API, api, badge, busy, download, el, label, runPath, showError, when } from "./common.js";
import { SourceViewer, citedByClaims, renderSourceList, serverHtml } from "./citations.js";
import { renderFollowUps } from "./followup.js";
import { EventFeed } from "./live.js";
import { pendingKey, renderPending } from "./review.js";

const $ = (id) => document.getElementById(id);
const root = $("run");
const runId = root.dataset.runId;
const terminal = new Set(root.dataset.terminal.split(" "));
const POLL_MS = 3000;
const MAX_EVENTS = 100;
// The finished report's downloads: format, link text, file name suffix (as the API names it
// in Content-Disposition, api/exports/dispatch.py), tooltip.
const DOWNLOADS = [
  ["md", "Markdown", ".md", "The report as Markdown"],
  ["pdf", "PDF", ".pdf", "The report as PDF, citations linked to its sources"],
  ["docx", "DOCX", ".docx", "The report as a Word document"],
  ["html", "HTML", ".html", "The report as a standalone HTML page"],
  ["json", "JSON", ".json", "The report as JSON, with its sources"],
  ["bundle", "Bundle (zip)", "-bundle.zip", "A zip: every format, the claims' passages, the sources' texts, a manifest"],
];

const viewer = new SourceViewer(runId, $("source-dialog"));
const cite = (n, evidence) => viewer.open(n, evidence);
const state = { pendingKey: null, reportShown: false, busy: false, again: false, timer: 0, poll: 0 };
const events = [];

async function refresh() {
  if (state.busy) {
    state.again = true;
    return;
  }
  state.busy = true;
  try {
    // pending_html: a plan or report under review comes with the server's sanitised HTML.
    render(await api("GET", runPath(runId, "?pending_html=true")));
    showError($("page-error"), null);
  } catch (err) {
    showError($("page-error"), err);
    if (err.status === 404) {
      stopPolling();
      root.dataset.state = "missing"; // nothing else on the page can be filled in
    }
  } finally {
    state.busy = false;
    if (state.again) {
      state.again = false;
      refresh();
    }
  }
}

// A burst of events (a search round emits several) costs one status request.
function scheduleRefresh() {
  clearTimeout(state.timer);
  state.timer = setTimeout(refresh, 150);
}

function startPolling() {
  if (!state.poll) state.poll = setInterval(refresh, POLL_MS);
}

function stopPolling() {
  clearInterval(state.poll);
  state.poll = 0;
}

function render(view) {
  const finished = terminal.has(view.status);
  document.title = `${view.question} · Durable research`;
  $("question").textContent = view.question;
  $("status").replaceChildren(badge(view.status));
  $("stage").textContent = label(view.stage);
  $("created").textContent = when(view.created_at);
  $("updated").textContent = when(view.updated_at);
  renderStages(view.stage);
  renderProgress(view);
  renderOutcome(view);
  const key = pendingKey(view.pending);
  if (key !== state.pendingKey) {
    state.pendingKey = key;
    renderPending($("pending"), runId, view.pending, { onDone: scheduleRefresh, onCite: cite, usage: view.usage });
  }
  $("working").hidden = finished || Boolean(view.pending);
  $("working-stage").textContent = label(view.stage);
  $("controls").hidden = finished;
  if (finished) {
    stopPolling();
    if (!state.reportShown) {
      showReport(view);
      // Only a run with a report can be followed up; any run may show the run it follows.
      if (view.report_ref || view.follow_up_of) renderFollowUps($("followups"), runId, view);
    }
  }
}

function renderStages(current) {
  const items = [...$("stages").children];
  const at = items.findIndex((li) => li.dataset.stage === current);
  items.forEach((li, i) => {
    li.className = i < at ? "done" : i === at ? "current" : "";
    if (i === at) li.setAttribute("aria-current", "step");
    else li.removeAttribute("aria-current");
  });
}

function renderProgress(view) {
  const p = view.progress;
  const u = view.usage;
  const rows = [
    ["Research round", p.rounds_total ? `${p.round} of ${p.rounds_total}` : "not started"],
    ["Queries run", p.queries_run],
    ["Sources found / read", `${p.sources_found} / ${p.sources_read}`],
    ["Notes", p.notes],
    ["Citations", p.citations_dropped ? `${p.citations} (${p.citations_dropped} dropped)` : p.citations],
    // Set once the support check has run (a report written as claims).
    ...(p.claims || p.claims_unsupported
      ? [["Claims", `${p.claims} (${p.claims_supported} supported, ${p.claims_unsupported} removed)`]]
      : []),
    ["Revisions", p.revisions],
    ["LLM calls", u.llm_calls],
    ["Tokens", u.prompt_tokens + u.completion_tokens],
    ["Cost", `$${Number(u.cost_usd || 0).toFixed(4)}`],
  ];
  const bar = el("progress", { max: p.rounds_total || 1, value: p.round, "aria-label": "research rounds" });
  $("progress").replaceChildren(bar, el("dl", {}, rows.map(([k, v]) => [el("dt", {}, k), el("dd", {}, String(v))])));
}

function renderOutcome(view) {
  const box = $("outcome");
  const parts = [];
  if (view.finish_reason) parts.push(el("p", {}, el("strong", {}, "Finished: "), view.finish_reason));
  if (view.error) parts.push(el("p", { class: "error-text" }, el("strong", {}, "Error: "), view.error));
  box.replaceChildren(...parts);
  box.hidden = !parts.length;
}

async function showReport(view) {
  state.reportShown = true;
  const box = $("report");
  const failed = el("div", { class: "alert", role: "alert", hidden: true });
  const formats = DOWNLOADS.map(([f, text, suffix, title]) =>
    el(
      "a",
      {
        href: `${API}${runPath(runId, `/report?format=${f}`)}`,
        "data-format": f,
        title,
        onclick: (event) => {
          // The link's own request would carry no API key: fetch with it, save as a blob.
          event.preventDefault();
          download(runPath(runId, `/report?format=${f}`), `report-${runId}${suffix}`).then(
            () => showError(failed, null),
            (err) => showError(failed, err),
          );
        },
      },
      text,
    ),
  );
  box.replaceChildren(el("div", { class: "card-head" }, el("h2", {}, "Report"), el("span", { class: "formats" }, "Download: ", formats)), failed);
  box.hidden = false;
  try {
    const report = await api("GET", runPath(runId, "/report?format=json"));
    // A report written as claims: the dialog and the source list count what its evidence cites.
    viewer.cited = citedByClaims(report);
    const attrs = { class: report.structured ? "doc claims-report" : "doc", id: "report-content" };
    box.append(serverHtml(attrs, report.html, cite));
  } catch (err) {
    const alert = el("div", { class: "alert", role: "alert" });
    showError(alert, err);
    box.append(alert);
  }
  const list = el("div", { id: "source-list" });
  box.append(list);
  await renderSourceList(list, viewer);
}

function addEvent(event) {
  events.unshift(event);
  events.length = Math.min(events.length, MAX_EVENTS);
  $("events").replaceChildren(
    ...events.map((e) =>
      el(
        "li",
        { "data-seq": e.seq },
        el("time", { datetime: e.at, title: when(e.at) }, new Date(e.at).toLocaleTimeString()),
        el("span", { class: `tag ev-${e.type}` }, label(e.type)),
        el("span", { class: "msg" }, e.message || "", e.data?.comment ? ` — “${e.data.comment}”` : ""),
      ),
    ),
  );
}

const FEED_TEXT = {
  live: "● live",
  reconnecting: "reconnecting…",
  unavailable: `refreshing every ${POLL_MS / 1000} s`,
  ended: "",
  not_found: "",
};

function setFeedState(feedState) {
  const feed = $("feed");
  feed.textContent = FEED_TEXT[feedState] ?? "";
  feed.className = `feed feed-${feedState}`;
  if (feedState === "unavailable") $("events-note").hidden = false;
  // While the stream is down the status still moves: poll until it is back.
  if (feedState === "live") stopPolling();
  else if (feedState === "reconnecting" || feedState === "unavailable") startPolling();
  if (feedState === "live" || feedState === "ended") scheduleRefresh();
}

async function control(action, question) {
  if (!window.confirm(question)) return;
  const alert = $("controls-error");
  try {
    await busy($("controls"), () => api("POST", runPath(runId, `/${action}`)));
    showError(alert, null);
    scheduleRefresh();
  } catch (err) {
    showError(alert, err);
  }
}

$("stop").addEventListener("click", () => control("stop", "Finish the run now with what it has?"));
$("cancel").addEventListener("click", () => control("cancel", "Abort the run? It ends cancelled."));

refresh();
new EventFeed(runId, {
  onEvent: (event) => {
    addEvent(event);
    scheduleRefresh();
  },
  onState: setFeedState,
}).start();
