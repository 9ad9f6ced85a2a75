// dynkv dashboard. It polls the cluster's status (the document of GET
// /cluster/status, served for the page at /ui/status) every 2 s, keeps a
// rolling series per node in the browser, and redraws. No framework, no
// build step: the node serves this file as it is.
"use strict";

const POLL_MS = 2000;
const TIMEOUT_MS = 5000;
const SERIES_POINTS = 150; // 5 minutes at one point per poll
const TOKEN_KEY = "dynkv.token";
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
const SVG = "http://www.w3.org/2000/svg";

const colours = new Map(); // node -> colour, kept for the page's life
const series = new Map(); // node -> {ops: [], p99: [], lastTotal, lastAt}
let handoff = null; // the handoff episode being followed (trackHandoffs)

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k === "style") e.style.cssText = v; // CSSOM: allowed by the page's CSP, unlike style attributes
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

function svgEl(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function colourOf(id) {
  if (!colours.has(id)) colours.set(id, PALETTE[colours.size % PALETTE.length]);
  return colours.get(id);
}

function bytes(n) {
  if (n == null) return "-";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function ago(then, now) {
  if (!then) return "never";
  const s = Math.max(0, Math.round((now - new Date(then)) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

function clock(t) { return new Date(t).toLocaleTimeString([], { hour12: false }); }

// ---- polling and the token ----

function token() { return sessionStorage.getItem(TOKEN_KEY) || ""; }

async function poll() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = "Bearer " + token();
  try {
    const resp = await fetch("/ui/status", { headers, cache: "no-store", signal: ctl.signal });
    if (resp.status === 401 || resp.status === 403) {
      const body = await resp.json().catch(() => ({}));
      askToken(resp.status === 403 ? "This token may not read the dashboard: " + (body.error || "forbidden") :
        token() ? "The token was refused: " + (body.error || "unauthorized") : "This cluster requires an admin token.");
      connection("err", "token needed");
      return;
    }
    if (!resp.ok) throw new Error("HTTP " + resp.status);
    render(await resp.json());
  } catch (err) {
    connection("err", "cannot reach this node: " + (err.name === "AbortError" ? "no answer in " + TIMEOUT_MS / 1000 + " s" : err.message));
  } finally {
    clearTimeout(timer);
    setTimeout(poll, POLL_MS);
  }
}

function connection(state, text) {
  const c = $("#conn");
  c.className = "conn " + state;
  c.textContent = text;
}

function askToken(why) {
  $("#token-why").textContent = why;
  $("#token-dialog").hidden = false;
  $("#token-input").focus();
}

function setupToken() {
  $("#token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const t = $("#token-input").value.trim();
    if (!t) return;
    sessionStorage.setItem(TOKEN_KEY, t);
    $("#token-input").value = "";
    $("#token-dialog").hidden = true;
    $("#token-forget").hidden = false;
  });
  $("#token-forget").hidden = !token();
  $("#token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    $("#token-forget").hidden = true;
  });
}

// ---- rendering ----

function render(st) {
  const now = new Date(st.time);
  st.members.forEach((m) => colourOf(m.id));
  record(st);
  trackHandoffs(st, now);
  renderSummary(st);
  renderRing(st);
  renderMembers(st);
  renderHandoffs();
  renderHints(st);
  renderAntiEntropy(st, now);
  connection("ok", "live · " + clock(now) + " from " + st.node);
  document.body.dataset.polls = String(Number(document.body.dataset.polls) + 1);
}

function renderSummary(st) {
  const counts = {};
  st.members.forEach((m) => { counts[m.status] = (counts[m.status] || 0) + 1; });
  const parts = ["alive", "suspect", "failed", "leaving", "left"].filter((s) => counts[s]).map((s) => counts[s] + " " + s);
  $("#summary").textContent = st.members.length + " members (" + parts.join(", ") + ") · " +
    st.ring.partitions + " partitions · N=" + st.ring.n;
}

// record adds this poll's point to each node's series: ops/s from the
// change of its operation count since the last poll (the report's own
// 30 s rate after a restart or a gap), and its recent p99.
function record(st) {
  const at = Date.now();
  for (const m of st.members) {
    let s = series.get(m.id);
    if (!s) series.set(m.id, (s = { ops: [], p99: [], lastTotal: null, lastAt: 0 }));
    let rate = null, p99 = null;
    if (m.report) {
      const ops = m.report.ops;
      const dt = (at - s.lastAt) / 1000;
      rate = s.lastTotal !== null && ops.total >= s.lastTotal && dt > 0 && dt < 10 ?
        (ops.total - s.lastTotal) / dt : ops.per_second;
      p99 = ops.p99_ms > 0 ? ops.p99_ms : null; // 0: no operation in the window
      s.lastTotal = ops.total;
      s.lastAt = at;
    }
    s.ops.push(rate);
    s.p99.push(p99);
    if (s.ops.length > SERIES_POINTS) { s.ops.shift(); s.p99.shift(); }
  }
}

function renderRing(st) {
  const svg = $("#ring");
  svg.replaceChildren();
  const n = st.ring.partitions, r0 = 62, r1 = 100;
  const status = Object.fromEntries(st.members.map((m) => [m.id, m.status]));
  const point = (r, a) => [r * Math.sin(a), -r * Math.cos(a)].map((v) => v.toFixed(2)).join(" ");
  st.ring.owners.forEach((owner, p) => {
    const a0 = (2 * Math.PI * p) / n, a1 = (2 * Math.PI * (p + 1)) / n;
    const large = a1 - a0 > Math.PI ? 1 : 0;
    const d = `M ${point(r0, a0)} L ${point(r1, a0)} A ${r1} ${r1} 0 ${large} 1 ${point(r1, a1)} ` +
      `L ${point(r0, a1)} A ${r0} ${r0} 0 ${large} 0 ${point(r0, a0)} Z`;
    const seg = svgEl("path", { d, fill: colourOf(owner), stroke: "#fff", "stroke-width": n > 128 ? 0.15 : 0.5 });
    if (status[owner] !== "alive") seg.setAttribute("fill-opacity", "0.35");
    const title = svgEl("title");
    title.textContent = `partition ${p}: ${owner} (${status[owner] || "unknown"})`;
    seg.append(title);
    svg.append(seg);
  });
  const big = svgEl("text", { y: -2 });
  big.textContent = n + " partitions";
  const small = svgEl("text", { y: 14, class: "small" });
  small.textContent = "N=" + st.ring.n + " replicas each";
  svg.append(big, small);
  $("#ring-info").textContent = "coloured by primary owner";

  const legend = $("#legend");
  legend.replaceChildren();
  for (const m of st.members.filter((m) => m.leads > 0 || m.status !== "left")) {
    legend.append(el("li", { "data-node": m.id, title: `${m.leads} partitions led, ${m.replicas} replicated` },
      el("span", { class: "swatch", style: "background:" + colourOf(m.id) }),
      el("b", { text: m.id }), " " + (100 * m.share).toFixed(1) + " %"));
  }
}

function sparkline(values, colour, format) {
  const w = 100, h = 28, pad = 2;
  const svg = svgEl("svg", { viewBox: `0 0 ${w} ${h}`, preserveAspectRatio: "none" });
  const known = values.filter((v) => v !== null);
  const max = Math.max(1e-9, ...known);
  const pts = [];
  values.forEach((v, i) => {
    if (v === null) return;
    // The newest at the right edge; a short series is spread over at
    // least a minute's width until the window fills.
    const x = w - ((values.length - 1 - i) * w) / (Math.max(values.length, 30) - 1);
    pts.push(x.toFixed(1) + "," + (h - pad - (v / max) * (h - 2 * pad)).toFixed(1));
  });
  if (pts.length) svg.append(svgEl("polyline", { points: pts.join(" "), stroke: colour }));
  const last = values.length ? values[values.length - 1] : null;
  return el("span", { class: "spark", title: known.length ? "max " + format(max) : "" }, svg,
    el("span", { class: "val", text: last === null ? "-" : format(last) }));
}

function renderMembers(st) {
  const body = $("#members tbody");
  body.replaceChildren();
  for (const m of st.members) {
    const r = m.report;
    const s = series.get(m.id);
    const statusCell = el("td", {}, el("span", { class: "badge " + m.status, text: m.status }));
    if (m.error) statusCell.append(el("span", { class: "why", title: m.error, text: m.error }));
    else if (r && r.draining) statusCell.append(el("span", { class: "why", text: "draining" }));
    const disk = r ? r.disk : null;
    const free = el("td", { class: "num" }, disk ? bytes(disk.free_bytes) : "-");
    if (disk && disk.below_floor) free.append(el("span", { class: "why", text: "below floor: writes refused" }));
    body.append(el("tr", { "data-node": m.id, "data-status": m.status, "data-reachable": String(m.reachable), "data-incarnation": String(m.incarnation) },
      el("td", { class: "node" }, el("span", { class: "swatch", style: "background:" + colourOf(m.id) }),
        el("b", { text: m.id }), el("span", { class: "addr", text: m.http_addr })),
      statusCell,
      incarnationCell(m),
      el("td", { class: "num", title: m.replicas + " partitions replicated" }, m.leads + " (" + (100 * m.share).toFixed(1) + " %)"),
      el("td", {}, sparkline(s.ops, colourOf(m.id), (v) => v.toFixed(v < 10 ? 1 : 0))),
      el("td", {}, sparkline(s.p99, colourOf(m.id), (v) => (v < 1 ? v.toFixed(2) : v.toFixed(0)) + " ms")),
      free,
      el("td", { class: "num" }, disk ? bytes(disk.store_bytes) : "-")));
  }
}

// incarnationCell shows when the member's current run started, and that it
// restarted if it did while the page was open.
const firstIncarnation = new Map();
function incarnationCell(m) {
  if (!m.incarnation) return el("td", {}, "-");
  if (!firstIncarnation.has(m.id)) firstIncarnation.set(m.id, m.incarnation);
  const td = el("td", { title: "incarnation " + m.incarnation + ": when this run of the node started" }, "since " + clock(m.incarnation));
  if (firstIncarnation.get(m.id) !== m.incarnation) td.append(el("span", { class: "why restarted", text: "restarted" }));
  return td;
}

// trackHandoffs follows one episode of handoffs (a leave, say) from the
// first poll that shows one in progress to the first that shows none, so
// that a handoff finished between two polls still shows as done, at 100 %.
// A member that went from alive to left between two polls handed its data
// off in between: that is an episode seen only at its end.
let lastStatus = {};
function trackHandoffs(st, now) {
  const leaving = st.members.filter((m) => m.status === "leaving").map((m) => m.id);
  const active = st.handoffs.length > 0 || leaving.length > 0;
  const handedOff = Object.fromEntries(st.members.filter((m) => m.report).map((m) => [m.id, m.report.handoff_keys]));
  const justLeft = st.members.filter((m) => m.status === "left" && lastStatus[m.id] && lastStatus[m.id] !== "left").map((m) => m.id);
  lastStatus = Object.fromEntries(st.members.map((m) => [m.id, m.status]));
  if ((active || justLeft.length) && (!handoff || handoff.finished)) {
    handoff = { started: now, finished: null, nodes: new Set(), base: handedOff, seen: {}, leaving: [], list: [] };
  }
  if (!handoff) return;
  justLeft.forEach((id) => handoff.nodes.add(id));
  if (active) {
    leaving.forEach((id) => handoff.nodes.add(id));
    st.handoffs.forEach((h) => handoff.nodes.add(h.from));
    handoff.total = st.handoff_total;
    handoff.list = st.handoffs;
    handoff.leaving = leaving;
  } else if (!handoff.finished) {
    handoff.finished = now;
  }
  for (const [id, n] of Object.entries(handedOff)) {
    handoff.seen[id] = Math.max(0, n - (handoff.base[id] ?? 0));
  }
}

function renderHandoffs() {
  const box = $("#handoffs");
  box.replaceChildren();
  if (!handoff) {
    box.dataset.state = "idle";
    box.dataset.percent = "100";
    box.append(el("p", { class: "muted", text: "None in progress." }));
    return;
  }
  const keys = Object.values(handoff.seen).reduce((a, b) => a + b, 0);
  const t = handoff.total || { partitions: 0, keys_done: 0, keys_left: 0, percent: 100 };
  const done = handoff.finished !== null;
  const percent = done ? 100 : t.percent;
  box.dataset.state = done ? "complete" : "active";
  box.dataset.percent = String(percent);
  const from = [...handoff.nodes].join(", ") || "-";
  box.append(el("div", { class: "big", text: percent.toFixed(percent === 100 ? 0 : 1) + " %" }),
    el("div", { class: "bar" }, el("div", { style: `width:${percent}%` })),
    el("p", {}, done ? `Complete at ${clock(handoff.finished)}: ` + (keys ? `${keys} keys handed off by ${from}.` : `${from} handed off.`) :
      `${t.keys_done} of ${t.keys_done + t.keys_left} keys in ${t.partitions} partitions; ` +
      `${keys} handed off so far by ${from}.`));
  if (!done && handoff.leaving.length) box.append(el("p", { class: "muted", text: "Leaving: " + handoff.leaving.join(", ") }));
  if (!done && handoff.list.length) {
    const rows = handoff.list.slice(0, 6).map((h) => el("tr", {},
      el("td", { text: h.from + " → " + h.to.join(",") }), el("td", { class: "num", text: "p" + h.partition }),
      el("td", { class: "num", text: h.keys_done + "/" + (h.keys_done + h.keys_left) }),
      el("td", { class: "why", text: h.error || "" })));
    box.append(el("table", {}, ...rows));
  }
}

function renderHints(st) {
  const box = $("#hints");
  box.replaceChildren();
  if (!st.hints_pending.length) {
    box.append(el("p", { class: "muted", text: "None: every replica has its writes." }));
    return;
  }
  const rows = st.hints_pending.map((h) => el("tr", { "data-target": h.target },
    el("td", {}, el("span", { class: "swatch", style: "background:" + colourOf(h.target) }), el("b", { text: h.target })),
    el("td", { class: "num big", text: String(h.pending) }),
    el("td", { class: "muted", text: "held by " + Object.entries(h.held_by).map(([id, n]) => `${id} (${n})`).join(", ") })));
  box.append(el("table", {}, el("thead", {}, el("tr", {}, el("th", { text: "Target" }), el("th", { class: "num", text: "Pending" }),
    el("th", { text: "" }))), el("tbody", {}, ...rows)));
}

function renderAntiEntropy(st, now) {
  const body = $("#antientropy tbody");
  body.replaceChildren();
  for (const m of st.members.filter((m) => m.status !== "left")) {
    const ae = m.report ? m.report.antientropy : null;
    const cells = ae ? [
      el("td", { class: "num", text: ae.trees_ready + "/" + m.report.replicas }),
      el("td", { title: ae.last_exchange || "" }, ago(ae.last_exchange, now)),
      el("td", { class: "num", text: String(ae.exchanges.in_sync || 0) }),
      el("td", { class: "num", text: String(ae.exchanges.repaired || 0) }),
      el("td", { class: "num" + (ae.exchanges.failed ? " warn" : ""), text: String(ae.exchanges.failed || 0) }),
      el("td", { class: "num", text: String(ae.keys_repaired) }),
      el("td", { class: "num" + (ae.key_failures ? " warn" : ""), text: String(ae.key_failures) }),
    ] : [el("td", { class: "muted", colspan: "7", text: "no report" })];
    body.append(el("tr", { "data-node": m.id }, el("td", {}, el("span", { class: "swatch", style: "background:" + colourOf(m.id) }),
      el("b", { text: m.id })), ...cells));
  }
}

setupToken();
poll();
