// structkit review: the page. Every value from a results file is put into the DOM with
// textContent or as an attribute value, never as HTML, so record text cannot run as script.
"use strict";

const STATIC = document.getElementById("review-data");
const DATA = STATIC ? JSON.parse(STATIC.textContent) : null;
const READ_ONLY = DATA !== null;
const PAGE = 50;
// Who decided an item (structkit/review/_items.py ORIGINS, TO_REVIEW): a record is done when
// every item the model or an adapter decided has a decision.
const ORIGIN_LABELS = { code: "computed in code", model: "model", adapter: "adapter" };
const TO_REVIEW = ["model", "adapter"];

const state = { offset: 0, rows: [], total: 0, record: null, current: 0, editing: false };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function filters() {
  const out = {};
  for (const name of ["status", "task", "flag", "review"]) {
    out[name] = document.getElementById("filter-" + name).value;
  }
  return out;
}

// ------------------------------------------------------------------ data access

async function fetchJSON(url, options) {
  const response = await fetch(url, options);
  if (!response.ok) throw new Error((await response.text()) || response.statusText);
  return response.json();
}

function staticReview(record) {
  const items = record.items.filter((i) => TO_REVIEW.includes(i.origin));
  const wanted = (items.length ? items : record.items).map((i) => i.path);
  const done = wanted.filter((p) => p in record.decisions).length;
  if (wanted.length && done === wanted.length) return "done";
  return Object.keys(record.decisions).length ? "partial" : "todo";
}

async function loadList() {
  const f = filters();
  if (READ_ONLY) {
    const rows = DATA.records
      .filter((r) => !f.status || r.status === f.status)
      .filter((r) => !f.task || r.task === f.task)
      .filter((r) => !f.flag || r.flags.includes(f.flag))
      .filter((r) => !f.review || staticReview(r) === f.review)
      .map((r) => ({ n: r.n, id: r.id, status: r.status, task: r.task, flags: r.flags,
                     review: staticReview(r), items: r.items.length }));
    return { total: rows.length, rows: rows.slice(state.offset, state.offset + PAGE),
             facets: DATA.facets };
  }
  const query = new URLSearchParams({ ...f, offset: state.offset, limit: PAGE });
  return fetchJSON("/api/list?" + query.toString());
}

async function loadRecord(n) {
  if (READ_ONLY) return DATA.records.find((r) => r.n === n);
  return fetchJSON("/api/record/" + n);
}

async function saveDecision(path, action, value) {
  const body = { id: state.record.id, item: path, action: action, value: value };
  const saved = await fetchJSON("/api/decision", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  state.record.decisions[path] = saved;
  renderItems();
  setStatus("saved: " + action + " " + path);
  refreshList();
}

// ------------------------------------------------------------------ list and filters

function fillFacets(facets) {
  for (const [name, values] of Object.entries(facets)) {
    const select = document.getElementById("filter-" + name);
    if (select.options.length > 1) continue;
    for (const value of values) select.append(el("option", { value: value }, value));
  }
}

let listRequests = 0;

async function refreshList() {
  // Refreshes overlap (a saved decision and a filter change): only the newest may draw the
  // list, or a slow unfiltered answer would overwrite the filtered one.
  const mine = ++listRequests;
  const page = await loadList();
  if (mine !== listRequests) return;
  state.rows = page.rows;
  state.total = page.total;
  fillFacets(page.facets);
  const list = document.getElementById("list");
  list.replaceChildren();
  for (const row of page.rows) {
    const current = state.record && state.record.n === row.n;
    list.append(
      el("li", { class: "rec " + row.review + (current ? " current" : ""), "data-n": row.n,
                 onclick: () => openRecord(row.n) },
        el("span", { class: "rid" }, row.id),
        el("span", { class: "tag " + row.status }, row.status),
        row.flags.length ? el("span", { class: "flags" }, row.flags.join(" ")) : null),
    );
  }
  const end = Math.min(state.offset + PAGE, page.total);
  document.getElementById("page").textContent =
    page.total ? `${state.offset + 1}–${end} of ${page.total}` : "no records";
}

function movePage(step) {
  const next = state.offset + step * PAGE;
  if (next < 0 || next >= state.total) return;
  state.offset = next;
  refreshList();
}

// ------------------------------------------------------------------ the record

function setStatus(text) {
  document.getElementById("status").textContent = text;
}

async function openRecord(n) {
  const token = (state.loading = (state.loading || 0) + 1);
  const record = await loadRecord(n);
  if (!record || token !== state.loading) return; // a later click won
  state.record = record;
  state.current = 0;
  state.editing = false;
  history.replaceState(null, "", "#n=" + n);
  renderRecord();
  refreshList();
}

function stepRecord(step) {
  const index = state.rows.findIndex((r) => state.record && r.n === state.record.n);
  const next = state.rows[index + step];
  if (next) openRecord(next.n);
  else if (index + step >= state.rows.length) movePage(1);
  else if (index + step < 0) movePage(-1);
}

function renderRecord() {
  const r = state.record;
  const head = document.getElementById("record-head");
  head.replaceChildren(
    el("h2", {}, r.id),
    el("span", { class: "tag " + r.status }, r.status),
    r.task ? el("span", { class: "tag" }, r.task) : null,
    el("span", { class: "muted" }, ` record ${r.n + 1} of ${r.count} · attempts ${r.attempts}`),
  );
  if (r.error) head.append(el("p", { class: "error" }, `${r.error.type}: ${r.error.message}`));
  if (r.audit) {
    const a = r.audit;
    head.append(el("details", { class: "audit" }, el("summary", {}, "audit"),
      el("pre", {}, JSON.stringify(a, null, 1))));
  }
  renderItems();
}

function citedBy() {
  // citation -> list of item indexes citing it
  const map = new Map();
  state.record.items.forEach((item, i) => {
    for (const c of item.cites) {
      if (!map.has(c)) map.set(c, []);
      map.get(c).push(i);
    }
  });
  return map;
}

function pointerCovers(cite, pointer) {
  return pointer === cite || pointer.startsWith(cite + "/") || pointer.startsWith(cite + "@");
}

function renderSource() {
  const source = state.record.source;
  const pane = document.getElementById("source");
  pane.replaceChildren();
  if (source.kind === "missing") {
    pane.append(el("p", { class: "muted" }, source.problem));
    return;
  }
  if (source.file) pane.append(el("p", { class: "muted file" }, source.file));
  const item = state.record.items[state.current];
  const mine = new Set(item ? item.cites : []);
  const cites = citedBy();
  if (source.text !== undefined) renderText(pane, source.text, cites, mine);
  else renderSections(pane, source.sections, cites, mine);
  const first = pane.querySelector(".mine");
  if (first) first.scrollIntoView({ block: "center" });
}

function renderText(pane, text, cites, mine) {
  // Offsets are Python code points; JavaScript strings index UTF-16 units.
  const chars = Array.from(text);
  const spans = [];
  for (const [cite, items] of cites) {
    const m = /^chars=(\d+)-(\d+)$/.exec(cite);
    if (m) spans.push({ start: +m[1], end: +m[2], cite: cite, items: items });
  }
  const cuts = new Set([0, chars.length]);
  for (const s of spans) { cuts.add(Math.min(s.start, chars.length)); cuts.add(Math.min(s.end, chars.length)); }
  const points = [...cuts].sort((a, b) => a - b);
  const box = el("div", { class: "text", id: "source-text" });
  for (let k = 0; k + 1 < points.length; k++) {
    const [a, b] = [points[k], points[k + 1]];
    const covering = spans.filter((s) => s.start <= a && b <= s.end);
    const attrs = { "data-start": a };
    if (covering.length) {
      const isMine = covering.some((s) => mine.has(s.cite));
      attrs.class = "cited" + (isMine ? " mine" : "");
      attrs.title = covering.map((s) => state.record.items[s.items[0]].label).join("; ");
      attrs.onclick = () => selectItem(covering[0].items[0]);
    }
    box.append(el("span", attrs, chars.slice(a, b).join("")));
  }
  pane.append(box);
}

function cellClass(pointer, cites, mine) {
  let cited = false, isMine = false;
  for (const cite of cites.keys()) {
    if (pointerCovers(cite, pointer)) { cited = true; if (mine.has(cite)) isMine = true; }
  }
  return (cited ? "cited" : "") + (isMine ? " mine" : "");
}

function renderSections(pane, sections, cites, mine) {
  for (const section of sections) {
    pane.append(el("h3", {}, section.title || ""));
    if (section.values.length) {
      const table = el("table", { class: "kv" });
      for (const v of section.values) {
        table.append(el("tr", {}, el("th", {}, v.k),
          el("td", { class: cellClass(v.p, cites, mine), "data-pointer": v.p, title: v.p,
                     onclick: () => pickCell(v.p, v.t) }, v.t)));
      }
      pane.append(table);
    }
    if (section.columns.length) {
      const table = el("table", { class: "grid" });
      table.append(el("tr", {}, ...section.columns.map((c) => el("th", {}, c))));
      for (const row of section.rows) {
        table.append(el("tr", {}, ...row.map((cell) =>
          el("td", { class: cellClass(cell.p, cites, mine), "data-pointer": cell.p, title: cell.p,
                     onclick: () => pickCell(cell.p, cell.t) }, cell.t))));
      }
      pane.append(table);
    }
  }
}

function renderItems() {
  const pane = document.getElementById("items");
  pane.replaceChildren();
  state.record.items.forEach((item, i) => {
    const decision = state.record.decisions[item.path];
    const card = el("div", {
      class: "item" + (i === state.current ? " current" : "") + (decision ? " " + decision.action : ""),
      "data-path": item.path, onclick: () => selectItem(i) },
      el("div", { class: "item-head" },
        el("b", {}, item.label),
        el("span", { class: "origin " + item.origin, title: "who decided this item" },
           ORIGIN_LABELS[item.origin] || item.origin),
        decision && decision.action === "correct"
          ? el("span", { class: "origin reviewer", title: "corrected by the reviewer" }, "reviewer")
          : null,
        el("span", { class: "decision" }, decision ? decision.action : "")),
      el("pre", { class: "value" }, JSON.stringify(
        decision && decision.action === "correct" ? decision.value : item.value, null, 1)),
      item.cites.length ? el("div", { class: "cites" }, "cites: " + item.cites.join("  ")) : null,
    );
    if (i === state.current && state.editing) card.append(editor(item, decision));
    pane.append(card);
  });
  if (!state.record.items.length) pane.append(el("p", { class: "muted" }, "no answer items"));
  renderSource();
  const current = pane.querySelector(".item.current");
  if (current && !state.editing) current.scrollIntoView({ block: "nearest" });
}

function editor(item, decision) {
  const start = decision && decision.action === "correct" ? decision.value : item.value;
  const area = el("textarea", { id: "editor", rows: 8, spellcheck: "false" });
  area.value = JSON.stringify(start, null, 1);
  setTimeout(() => area.focus(), 0);
  return el("div", { class: "editor" }, area,
    el("div", { class: "muted" },
       "Ctrl+Enter save · Esc cancel · select text in the source then Alt+S, or click a cell, to cite it"),
    el("button", { onclick: (e) => { e.stopPropagation(); saveCorrection(); } }, "save correction"));
}

function selectItem(i) {
  if (!state.record || i < 0 || i >= state.record.items.length) return;
  state.current = i;
  state.editing = false;
  renderItems();
}

async function decide(action) {
  if (READ_ONLY || !state.record || !state.record.items.length) return;
  const item = state.record.items[state.current];
  if (action === "correct") { state.editing = true; renderItems(); return; }
  await saveDecision(item.path, action, null);
  if (state.current + 1 < state.record.items.length) selectItem(state.current + 1);
}

async function acceptRest() {
  if (READ_ONLY || !state.record) return;
  for (const item of state.record.items) {
    if (TO_REVIEW.includes(item.origin) && !(item.path in state.record.decisions)) {
      await saveDecision(item.path, "accept", null);
    }
  }
}

async function saveCorrection() {
  const area = document.getElementById("editor");
  let value;
  try { value = JSON.parse(area.value); } catch (err) { setStatus("not JSON: " + err.message); return; }
  const item = state.record.items[state.current];
  state.editing = false;
  await saveDecision(item.path, "correct", value);
}

function editedValue() {
  const area = document.getElementById("editor");
  if (!area) return null;
  try { return JSON.parse(area.value); } catch (err) { return null; }
}

function pickCell(pointer, text) {
  // While correcting, clicking a cell or field cites it instead of the old one.
  if (!state.editing) return;
  const value = editedValue();
  if (value === null || typeof value !== "object") return;
  if ("pointer" in value) value.pointer = pointer;
  else if ("pointers" in value) value.pointers = [pointer];
  if (typeof value.value === "string") value.value = text;
  document.getElementById("editor").value = JSON.stringify(value, null, 1);
  setStatus("cited " + pointer);
}

function useSelection() {
  // While correcting a span, the text selected in the source becomes the item's span.
  const value = editedValue();
  const selection = window.getSelection();
  if (value === null || !selection || selection.isCollapsed) return;
  const box = document.getElementById("source-text");
  if (!box) return;
  const offsetOf = (node, offset) => {
    const span = node.nodeType === Node.TEXT_NODE ? node.parentElement : node;
    if (!box.contains(span) || !span.dataset.start) return null;
    return +span.dataset.start + Array.from(node.textContent.slice(0, offset)).length;
  };
  let a = offsetOf(selection.anchorNode, selection.anchorOffset);
  let b = offsetOf(selection.focusNode, selection.focusOffset);
  if (a === null || b === null) return;
  if (a > b) [a, b] = [b, a];
  const chars = Array.from(state.record.source.text);
  value.start = a;
  value.end = b;
  if ("text" in value) value.text = chars.slice(a, b).join("");
  document.getElementById("editor").value = JSON.stringify(value, null, 1);
  setStatus(`span chars=${a}-${b}`);
}

// ------------------------------------------------------------------ keys

document.addEventListener("keydown", (e) => {
  if (state.editing) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); saveCorrection(); }
    else if (e.key === "Escape") { state.editing = false; renderItems(); }
    else if (e.altKey && e.key.toLowerCase() === "s") { e.preventDefault(); useSelection(); }
    return;
  }
  if (e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
  const keys = {
    j: () => selectItem(state.current + 1), ArrowDown: () => selectItem(state.current + 1),
    k: () => selectItem(state.current - 1), ArrowUp: () => selectItem(state.current - 1),
    n: () => stepRecord(1), p: () => stepRecord(-1),
    "]": () => movePage(1), "[": () => movePage(-1),
    a: () => decide("accept"), r: () => decide("reject"), c: () => decide("correct"),
    A: () => acceptRest(),
    "?": () => document.getElementById("help").toggleAttribute("open"),
  };
  const action = keys[e.key];
  if (action) { e.preventDefault(); action(); }
});

for (const name of ["status", "task", "flag", "review"]) {
  document.getElementById("filter-" + name).addEventListener("change", () => {
    state.offset = 0;
    refreshList();
  });
}
document.getElementById("prev-page").addEventListener("click", () => movePage(-1));
document.getElementById("next-page").addEventListener("click", () => movePage(1));
if (READ_ONLY) document.body.classList.add("read-only");

(async function start() {
  await refreshList();
  const m = /n=(\d+)/.exec(location.hash);
  const first = m ? +m[1] : state.rows.length ? state.rows[0].n : null;
  if (first !== null) await openRecord(first);
  document.body.dataset.ready = "1";
})();
