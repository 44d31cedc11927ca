// Just enough Markdown for the plans and reports the runs write, built as DOM nodes.
// The text is model output (and may quote fetched pages), so nothing is ever parsed as HTML:
// each recognised form becomes an element and everything else a text node. `[n]` becomes a
// citation button that calls onCite(n).

import { el } from "./common.js";

const HEADING = /^(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d+[.)]\s+(.*)$/;
const QUOTE = /^>\s?(.*)$/;
// One alternation, so the first form that starts earliest wins and nothing is matched twice.
const INLINE =
  /`([^`\n]+)`|\*\*(.+?)\*\*|\[([^\]\n]+)\]\((https?:\/\/[^\s)]+)\)|\[(\d{1,4})\]|(https?:\/\/[^\s<>()]+)/g;

export function citationButton(n, onCite) {
  return el(
    "button",
    { type: "button", class: "cite", "data-cite": n, title: `Show source ${n}`, onclick: () => onCite(n) },
    `[${n}]`,
  );
}

function link(href, text) {
  return el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text);
}

export function inline(text, onCite) {
  const nodes = [];
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) nodes.push(text.slice(last, m.index));
    if (m[1] !== undefined) nodes.push(el("code", {}, m[1]));
    else if (m[2] !== undefined) nodes.push(el("strong", {}, inline(m[2], onCite)));
    else if (m[3] !== undefined) nodes.push(link(m[4], m[3]));
    else if (m[5] !== undefined) nodes.push(onCite ? citationButton(Number(m[5]), onCite) : m[0]);
    else nodes.push(link(m[6], m[6]));
    last = m.index + m[0].length;
  }
  if (last < text.length) nodes.push(text.slice(last));
  return nodes;
}

export function renderMarkdown(markdown, onCite) {
  const out = document.createDocumentFragment();
  let paragraph = [];
  let list = null;
  let quote = null;

  const flush = () => {
    if (paragraph.length) {
      const p = el("p");
      paragraph.forEach((line, i) => {
        if (i) p.append(el("br"));
        p.append(...inline(line, onCite));
      });
      out.append(p);
      paragraph = [];
    }
    list = null;
    quote = null;
  };

  for (const line of String(markdown || "").split(/\r?\n/)) {
    const heading = line.match(HEADING);
    const bullet = line.match(BULLET);
    const item = bullet || line.match(NUMBERED);
    const quoted = line.match(QUOTE);
    if (heading) {
      flush();
      // A page has one h1 (the run's question); report headings start one level below it.
      const level = Math.min(heading[1].length + 1, 6);
      out.append(el(`h${level}`, {}, inline(heading[2], onCite)));
    } else if (item) {
      const tag = bullet ? "ul" : "ol";
      if (paragraph.length || quote || !list || list.tagName.toLowerCase() !== tag) {
        flush();
        list = el(tag);
        out.append(list);
      }
      list.append(el("li", {}, inline(item[1], onCite)));
    } else if (quoted) {
      if (!quote) {
        flush();
        quote = el("blockquote");
        out.append(quote);
      }
      quote.append(el("p", {}, inline(quoted[1], onCite)));
    } else if (!line.trim()) {
      flush();
    } else {
      if (list || quote) flush();
      paragraph.push(line.trim());
    }
  }
  flush();
  return out;
}
