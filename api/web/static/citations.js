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
// no inline handlers (and the sanitiser keeps none).
export function serverHtml(attrs, html, onCite) {
  const doc = el("article", attrs);
  doc.innerHTML = html;
  doc.addEventListener("click", (event) => {
    const button = event.target.closest("button.cite[data-cite]");
    if (button && doc.contains(button)) onCite(Number(button.dataset.cite));
  });
  return doc;
}

export class SourceViewer {
  constructor(runId, dialog) {
    this.runId = runId;
    this.dialog = dialog;
    this.title = dialog.querySelector("[data-role=title]");
    this.body = dialog.querySelector("[data-role=body]");
    this.error = dialog.querySelector("[data-role=error]");
    // A click on the backdrop (outside the box) closes the dialog, as people expect.
    dialog.addEventListener("click", (e) => e.target === dialog && dialog.close());
  }

  async sources() {
    return api("GET", runPath(this.runId, "/sources"));
  }

  async open(number) {
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
      this.render(source);
    } catch (err) {
      this.body.replaceChildren();
      showError(this.error, err);
    }
  }

  render(source) {
    this.title.textContent = `[${source.number}] ${source.title || "Untitled source"}`;
    const passages = source.passages || [];
    const cited = passages.filter((p) => p.cited);
    const others = passages.filter((p) => !p.cited);
    const parts = [el("p", { class: "source-url" }, sourceLink(source.url))];
    if (cited.length) {
      parts.push(el("h3", {}, cited.length === 1 ? "Cited passage" : "Cited passages"));
      parts.push(...cited.map(passageBlock));
    } else {
      parts.push(el("p", { class: "muted" }, "No single passage was marked as cited."));
    }
    if ((source.notes || []).length) {
      parts.push(el("h3", {}, "Notes taken from it"));
      parts.push(el("ul", {}, source.notes.map((note) => el("li", {}, String(note)))));
    }
    if (others.length) {
      const heading = `Other passages read (${others.length})`;
      const details = el("details", {}, el("summary", {}, heading), others.map(passageBlock));
      // With nothing cited, the passages read are the whole story: show them at once.
      details.open = !cited.length;
      parts.push(details);
    }
    this.body.replaceChildren(...parts);
  }
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
    const n = (s.passages || []).filter((p) => p.cited).length;
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
