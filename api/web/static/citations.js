// The sources behind a report's citations: a dialog that opens the cited passages of source
// [n], and the numbered list of every source the run read (GET /runs/{id}/sources).

import { api, el, runPath, showError } from "./common.js";

function sourceLink(url) {
  // Only web addresses become links; a local document's path is shown as text.
  return /^https?:\/\//i.test(url || "")
    ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, url)
    : el("code", {}, url || "");
}

function passageBlock(passage) {
  return el(
    "blockquote",
    { class: passage.cited ? "passage cited" : "passage", "data-passage": passage.id },
    el("span", { class: "passage-id" }, passage.id),
    String(passage.text || ""),
  );
}

// A report or plan as the server rendered it: Markdown turned into sanitised HTML on the server
// (api/markdown_html.py), so the page parses no Markdown itself. Its `[n]` citations are
// <button class="cite" data-cite="n">; one listener here opens them, since the strict CSP runs
// no inline handlers (and the sanitiser keeps none). A report written as claims
// (api/claims_html.py) also puts the passage id and the exact quote on each button.
export function serverHtml(attrs, html, onCite) {
  const doc = el("article", attrs);
  doc.innerHTML = html;
  doc.addEventListener("click", (event) => {
    const button = event.target.closest("button.cite[data-cite]");
    if (!button || !doc.contains(button)) return;
    const { passage, quote } = button.dataset;
    onCite(Number(button.dataset.cite), passage ? { passage, quote: quote || "" } : null);
  });
  return doc;
}

// {source number: Set of passage ids} the report's claims cite (the JSON's `citations`), or
// null for a Markdown-only report, whose sources.json marks the cited passages itself.
export function citedByClaims(report) {
  if (!report?.structured) return null;
  return new Map((report.citations || []).map((c) => [c.number, new Set(c.passages.map((p) => p.id))]));
}

export class SourceViewer {
  constructor(runId, dialog) {
    this.runId = runId;
    this.dialog = dialog;
    this.title = dialog.querySelector("[data-role=title]");
    this.body = dialog.querySelector("[data-role=body]");
    this.error = dialog.querySelector("[data-role=error]");
    // Set from a report written as claims: which passages its evidence cites.
    this.cited = null;
    // A click on the backdrop (outside the box) closes the dialog, as people expect.
    dialog.addEventListener("click", (e) => e.target === dialog && dialog.close());
  }

  isCited(source, passage) {
    return this.cited ? Boolean(this.cited.get(source.number)?.has(passage.id)) : Boolean(passage.cited);
  }

  async sources() {
    return api("GET", runPath(this.runId, "/sources"));
  }

  // evidence: {passage, quote} of the citation clicked, when the report has it.
  async open(number, evidence = null) {
    this.title.textContent = `Source [${number}]`;
    this.body.replaceChildren(el("p", { class: "muted" }, "Loading the source…"));
    showError(this.error, null);
    if (!this.dialog.open) this.dialog.showModal();
    try {
      const sources = await this.sources();
      const source = sources.find((s) => s.number === number);
      if (!source) {
        this.body.replaceChildren(el("p", {}, `This run has no source [${number}].`));
        return;
      }
      this.render(source, evidence);
    } catch (err) {
      this.body.replaceChildren();
      showError(this.error, err);
    }
  }

  render(source, evidence = null) {
    this.title.textContent = `[${source.number}] ${source.title || "Untitled source"}`;
    const passages = source.passages || [];
    // The passage behind the clicked quote is shown with it, not a second time in the list.
    const cited = passages.filter((p) => this.isCited(source, p) && p.id !== evidence?.passage);
    const others = passages.filter((p) => !this.isCited(source, p) && p.id !== evidence?.passage);
    const parts = [el("p", { class: "source-url" }, sourceLink(source.url))];
    if (evidence) parts.push(...quoteBlock(evidence, passages));
    if (cited.length) {
      const more = evidence ? "Other cited passage" : "Cited passage";
      parts.push(el("h3", {}, cited.length === 1 ? more : `${more}s`));
      parts.push(...cited.map((p) => passageBlock({ ...p, cited: true })));
    } else if (!evidence) {
      parts.push(el("p", { class: "muted" }, "No single passage was marked as cited."));
    }
    if ((source.notes || []).length) {
      parts.push(el("h3", {}, "Notes taken from it"));
      parts.push(el("ul", {}, source.notes.map((note) => el("li", {}, String(note)))));
    }
    if (others.length) {
      const heading = `Other passages read (${others.length})`;
      const details = el("details", {}, el("summary", {}, heading), others.map((p) => passageBlock({ ...p, cited: false })));
      // With nothing cited, the passages read are the whole story: show them at once.
      details.open = !cited.length && !evidence;
      parts.push(details);
    }
    this.body.replaceChildren(...parts);
  }
}

// The exact quote a claim rests on, and the passage it comes from (textContent only).
function quoteBlock(evidence, passages) {
  const passage = passages.find((p) => p.id === evidence.passage);
  const parts = [
    el("h3", {}, "Quote behind this citation"),
    el("blockquote", { class: "quote", "data-passage": evidence.passage }, evidence.quote || "(no quote recorded)"),
  ];
  if (passage) {
    // The quote marked where it stands in its passage (when it is there verbatim).
    const text = String(passage.text || "");
    const at = evidence.quote ? text.indexOf(evidence.quote) : -1;
    const body = at < 0 ? [text] : [text.slice(0, at), el("mark", {}, evidence.quote), text.slice(at + evidence.quote.length)];
    parts.push(el("p", { class: "muted small" }, `From passage ${passage.id}:`));
    parts.push(el("blockquote", { class: "passage cited quoted", "data-passage": passage.id }, el("span", { class: "passage-id" }, passage.id), body));
  } else {
    parts.push(el("p", { class: "muted small" }, `Passage ${evidence.passage} is not in this run's sources.`));
  }
  return parts;
}

// The "Sources" list under a report: each entry opens the same dialog as its citation.
export async function renderSourceList(box, viewer) {
  box.replaceChildren();
  let sources;
  try {
    sources = await viewer.sources();
  } catch (err) {
    if (err.code === "sources_not_ready") return;
    const alert = el("div", { class: "alert", role: "alert" });
    showError(alert, err);
    box.append(alert);
    return;
  }
  if (!sources.length) {
    box.append(el("p", { class: "muted" }, "The run read no sources."));
    return;
  }
  const cited = (s) => {
    const n = (s.passages || []).filter((p) => viewer.isCited(s, p)).length;
    return `${n} cited passage${n === 1 ? "" : "s"}`;
  };
  const items = sources.map((s) =>
    el(
      "li",
      {},
      el(
        "button",
        { type: "button", class: "linkish", onclick: () => viewer.open(s.number) },
        `[${s.number}] ${s.title || "Untitled source"}`,
      ),
      " ",
      el("span", { class: "muted" }, cited(s)),
    ),
  );
  box.append(el("h3", {}, `Sources read (${sources.length})`), el("ul", { class: "sources" }, items));
}
