/* TransactFlowOS member pages: a small single-page app (no framework, no build step).
   Pages load JSON from /api and get live updates over the websocket at /ws. */
"use strict";

// -- helpers ---------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function toPaise(text) {
  const clean = String(text).replace(/[₹,\s]/g, "").replace(/^Rs\.?/i, "");
  const m = /^(\d{1,12})(?:\.(\d{1,2}))?$/.exec(clean);
  if (!m) return null;
  return Number(m[1]) * 100 + Number((m[2] || "0").padEnd(2, "0"));
}

// -- dates and times: one style, in the office's zone (as app/kernel/office_time.py) ---
// "03 Dec 2026" and "03 Dec 2026, 18:30 IST"; the server names the zone in <html data-zone>.

const ZONE = document.documentElement.dataset.zone || "Asia/Kolkata";
const NAMED_ZONES = { "Asia/Kolkata": "IST", "Asia/Calcutta": "IST", "UTC": "UTC", "Etc/UTC": "UTC" };
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const WALL = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hourCycle: "h23", year: "numeric",
  month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });

function pad(n) { return String(n).padStart(2, "0"); }

function wallClock(date) {
  const p = {};
  for (const part of WALL.formatToParts(date)) p[part.type] = Number(part.value);
  return { year: p.year, month: p.month, day: p.day, hour: p.hour % 24, minute: p.minute,
    second: p.second };
}

function zoneLabel(date) {
  if (NAMED_ZONES[ZONE]) return NAMED_ZONES[ZONE];
  const w = wallClock(date);
  const wallMs = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const minutes = Math.round((wallMs - Math.floor(date.getTime() / 1000) * 1000) / 60000);
  const abs = Math.abs(minutes);
  return `UTC${minutes < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function dayText(year, month, day) { return `${pad(day)} ${MONTHS[month - 1]} ${year}`; }

function clockTime(iso, seconds = true) {
  const date = new Date(iso);
  const w = wallClock(date);
  const time = `${pad(w.hour)}:${pad(w.minute)}` + (seconds ? `:${pad(w.second)}` : "");
  return `${time} ${zoneLabel(date)}`;
}

function when(iso, seconds = false) {
  if (!iso) return "—";
  const plain = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso);
  if (plain) return dayText(Number(plain[1]), Number(plain[2]), Number(plain[3]));
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const w = wallClock(date);
  return `${dayText(w.year, w.month, w.day)}, ${clockTime(iso, seconds)}`;
}

function shortHash(hash) { return hash ? hash.slice(0, 12) + "…" : "—"; }

function toast(text, kind) {
  const el = document.getElementById("toast");
  el.textContent = text;
  el.className = "toast " + (kind || "");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.add("hidden"), 4000);
}

function errorBox(err) {
  return h("div", { class: "error", role: "alert" },
    h("strong", {}, err.message || String(err)), err.hint ? h("div", {}, err.hint) : null);
}

class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `Request failed (${status}).`);
    this.status = status; this.code = e.code; this.hint = e.hint;
  }
}

async function api(path, options) {
  const opts = { credentials: "same-origin", headers: {}, ...(options || {}) };
  if (opts.json !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  const resp = await fetch(path, opts);
  const body = await resp.json().catch(() => null);
  if (resp.status === 401 && !path.startsWith("/api/otp")) {
    state.me = null;
    location.hash = "#/signin";
  }
  if (!resp.ok) throw new ApiError(resp.status, body);
  return body;
}

// -- the websocket ---------------------------------------------------------------------

class Live {
  constructor() {
    this.ws = null; this.ready = null; this.seq = 0;
    this.pending = new Map(); this.handlers = new Map(); this.retry = 500;
  }

  connect() {
    if (this.ready) return this.ready;
    this.ready = new Promise((resolve, reject) => {
      const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
      const ws = new WebSocket(url);
      this.ws = ws;
      ws.onopen = () => ws.send(JSON.stringify({ type: "auth" }));
      ws.onmessage = (ev) => this.onMessage(JSON.parse(ev.data), resolve);
      ws.onclose = (ev) => this.onClose(ev, reject);
    });
    return this.ready;
  }

  onMessage(msg, resolve) {
    if (msg.channel === "session" && msg.event === "ready") {
      this.retry = 500; setLiveState(true); resolve(this); return;
    }
    if (msg.request_id !== undefined && msg.request_id !== null && this.pending.has(msg.request_id)) {
      const { ok, fail } = this.pending.get(msg.request_id);
      this.pending.delete(msg.request_id);
      if (msg.event === "ack") ok(msg.payload); else fail(msg.payload);
      return;
    }
    const handler = this.handlers.get(msg.channel);
    if (handler) handler(msg.event, msg.payload);
  }

  onClose(ev, reject) {
    setLiveState(false);
    const subs = [...this.handlers.entries()];
    this.ready = null; this.ws = null;
    for (const { fail } of this.pending.values()) fail({ message: "The connection was lost." });
    this.pending.clear();
    reject(new Error("websocket closed " + ev.code));
    if (ev.code === 4403) {
      if (state.me) sessionEnded("Your session has ended (signed out elsewhere, or it expired). Sign in again.");
      return;
    }
    if (!state.me) return;
    setTimeout(() => this.resubscribe(subs), this.retry);
    this.retry = Math.min(this.retry * 2, 10000);
  }

  async resubscribe(subs) {
    this.handlers.clear();
    for (const [channel, handler] of subs) {
      await this.subscribe(channel, handler.payload || {}, handler).catch(() => {});
    }
  }

  async request(channel, action, payload) {
    await this.connect();
    const id = "r" + (++this.seq);
    return new Promise((ok, fail) => {
      this.pending.set(id, { ok, fail });
      this.ws.send(JSON.stringify({ channel, action, payload: payload || {}, request_id: id }));
    });
  }

  async subscribe(channel, payload, handler) {
    handler.payload = payload;
    this.handlers.set(channel, handler);
    try {
      await this.request(channel, "subscribe", payload);
    } catch (err) {
      this.handlers.delete(channel);
      throw err;
    }
  }

  unsubscribeAll() {
    const channels = [...this.handlers.keys()];
    this.handlers.clear();
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      for (const ch of channels) this.request(ch, "unsubscribe").catch(() => {});
    }
  }

  close() { if (this.ws) this.ws.close(1000); }
}

const live = new Live();
const state = { me: null, timers: [], notice: "" };

function setLiveState(on) {
  document.body.classList.toggle("offline", !on);
}

function every(ms, fn) { const t = setInterval(fn, ms); state.timers.push(t); return t; }

// -- layout ----------------------------------------------------------------------------

function view() { return document.getElementById("view"); }

function show(...nodes) { view().replaceChildren(...nodes); }

function card(title, ...children) {
  return h("section", { class: "card" }, title ? h("h2", {}, title) : null, ...children);
}

function stat(label, value, extra) {
  return h("div", { class: "stat" }, h("div", { class: "label" }, label),
    h("div", { class: "value" }, value), extra ? h("div", { class: "muted small" }, extra) : null);
}

function pill(text, kind) { return h("span", { class: "pill " + (kind || text) }, text); }

function showHeader() {
  const signedIn = !!state.me;
  for (const id of ["who", "nav", "badge"]) {
    document.getElementById(id).classList.toggle("hidden", !signedIn);
  }
  if (signedIn) {
    const m = state.me.member || {};
    document.getElementById("who-name").textContent = m.name || state.me.actor.name;
    document.getElementById("who-phone").textContent = m.phone_masked || state.me.actor.role;
    refreshBadge();
  }
}

// The server's own re-hash of the chain, reused for a while: each check may re-hash the log.
const INTEGRITY_REUSE_MS = 30000;
let integrityCheck = { at: 0, promise: null };

function integrityReport(fresh) {
  if (fresh || !integrityCheck.promise || Date.now() - integrityCheck.at > INTEGRITY_REUSE_MS) {
    const promise = api("/api/integrity");
    integrityCheck = { at: Date.now(), promise };
    promise.catch(() => {
      if (integrityCheck.promise === promise) integrityCheck = { at: 0, promise: null };
    });
  }
  return integrityCheck.promise;
}

const BADGE = { ok: "✓ Log verified", bad: "✗ Log check failed", error: "Log unchecked" };

async function refreshBadge(fresh) {
  const el = document.getElementById("badge");
  if (fresh || !logCheck) { el.textContent = "Checking the log…"; el.className = "badge"; }
  const r = await checkLog(fresh);
  el.textContent = r.state === "ok" ? `${BADGE.ok} · ${r.checkpoint.size}` :
    r.state === "bad" ? `✗ ${r.badge}` : BADGE.error;
  el.className = "badge " + r.state;
  el.title = r.state === "ok" ? `Checked in this browser: ${r.checkpoint.size} records, ` +
    `${r.records.filter((x) => x.ok).length} of them yours` : r.headline;
}

// -- sign in ---------------------------------------------------------------------------

function signInPage() {
  const phone = h("input", { id: "phone", type: "tel", inputmode: "tel", autocomplete: "tel",
    placeholder: "98765 43210", required: true });
  const code = h("input", { id: "code", inputmode: "numeric", autocomplete: "one-time-code",
    maxlength: "6", placeholder: "6-digit code", required: true });
  const msg = h("div", { class: "msg" });
  const codeStep = h("form", { class: "form hidden", id: "code-form", onsubmit: verify },
    h("label", { for: "code" }, "Code"), code,
    h("button", { type: "submit", class: "primary" }, "Sign in"));
  const phoneStep = h("form", { class: "form", id: "phone-form", onsubmit: request },
    h("label", { for: "phone" }, "Mobile number"), phone,
    h("button", { type: "submit", class: "primary" }, "Send code"));

  async function request(ev) {
    ev.preventDefault(); msg.replaceChildren();
    try {
      const r = await api("/api/otp/request", { json: { phone: phone.value } });
      msg.replaceChildren(h("p", { class: "ok" }, `If ${r.phone_masked} is registered with ` +
        `us, we have texted it a code. It is valid until ${when(r.expires_at)}.`));
      codeStep.classList.remove("hidden"); code.focus();
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }

  async function verify(ev) {
    ev.preventDefault(); msg.replaceChildren();
    try {
      await api("/api/otp/verify", { json: { phone: phone.value, code: code.value } });
      state.me = await api("/api/me");
      showHeader();
      location.hash = "#/";
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }

  show(h("div", { class: "signin" },
    card("Sign in", h("p", { class: "muted" },
      "Enter the mobile number registered with your chit office. We send a 6-digit code."),
    phoneStep, codeStep, msg)));
  if (state.notice) msg.replaceChildren(h("p", { class: "muted", id: "notice" }, state.notice));
  state.notice = "";
  phone.focus();
}

// -- dashboard -------------------------------------------------------------------------

async function dashboardPage() {
  const d = await api("/api/dashboard");
  const due = d.next_due;
  const dueCard = card("What is due",
    stat("Total due", d.total_due_fmt, due ? `Next: ${due.net_fmt} on ${when(due.due_date)}` :
      "Nothing due now."),
    d.dues.length ? h("ul", { class: "list" }, d.dues.map((x) => h("li", {},
      h("span", {}, `${x.group_name} · period ${x.period}`),
      h("span", { class: "right" }, h("b", {}, x.outstanding_fmt), h("br"),
        h("span", { class: "muted small" }, "due " + when(x.due_date)))))) : null);
  const a = d.next_auction;
  const auctionCard = card("Next auction", a ? [
    stat(a.group_name, a.open ? "Open now" : when(a.when),
      a.open ? `Period ${a.period} · ends ${when(a.when)}` : `Period ${a.period}`),
    a.open ? h("a", { class: "button primary", href: `#/auctions/${a.auction_id}` },
      "Enter the auction room") : null,
  ] : h("p", { class: "muted" }, "No auction scheduled."));
  const groups = card("My groups", d.groups.length ? h("ul", { class: "list groups" },
    d.groups.map((g) => h("li", {},
      h("div", {}, h("b", {}, g.name), h("div", { class: "muted small" },
        `Ticket ${g.ticket_no} · ${g.chit_amount_fmt} · ${g.periods_done}/${g.members} periods`),
        g.prized_period ? pill(`prized in period ${g.prized_period}`, "prized") : null),
      h("div", { class: "links" },
        h("a", { href: `#/groups/${g.id}` }, "Health"),
        h("a", { href: `#/groups/${g.id}/agreement` }, "Agreement"),
        g.next_auction && g.next_auction.open ?
          h("a", { href: `#/auctions/${g.next_auction.auction_id}` }, "Auction") : null))))
    : h("p", { class: "muted" }, "You are not in a group yet."));
  show(h("h1", {}, `Namaste, ${d.member.name}`), h("div", { class: "grid" },
    dueCard, auctionCard), groups);
}

// -- timeline --------------------------------------------------------------------------

const CREDIT = new Set(["instalment_paid", "prize_paid", "loan_disbursed", "emi_paid",
  "penalty_paid", "discount_share"]);

async function timelinePage() {
  const list = h("ul", { class: "list timeline", id: "timeline" });
  const status = h("span", { class: "muted small" }, "Live");
  async function load() {
    const r = await api("/api/timeline");
    list.replaceChildren(...(r.items.length ? r.items.map((i) => h("li", {},
      h("div", {}, h("div", {}, i.description), h("div", { class: "muted small" },
        when(i.date), i.bank_ref ? ` · Bank ref ${i.bank_ref}` : "")),
      h("div", { class: "right amount " + (CREDIT.has(i.kind) ? "in" : "out") }, i.amount_fmt))) :
      [h("li", { class: "muted" }, "Nothing yet.")]));
  }
  await load();
  const statement = h("a", { class: "button", id: "statement", href: "/api/statement", download: "" },
    "Download my statement (PDF)");
  show(h("div", { class: "row" }, h("h1", {}, "Financial timeline ", status), statement),
    card(null, list));
  const onEvent = (event) => {
    if (event === "delta") { load(); status.textContent = "Updated " + when(new Date().toISOString(), true); }
  };
  live.subscribe("member.timeline", {}, onEvent).catch(() => {});
  live.subscribe("member.dues", {}, onEvent).catch(() => {});
}

// -- loans -----------------------------------------------------------------------------

function statusKind(s) {
  return { submitted: "wait", scored: "wait", recommended: "wait", approved: "ok",
    disbursed: "ok", closed: "done", rejected: "bad" }[s] || "";
}

async function loansPage(params) {
  const list = h("ul", { class: "list", id: "loans" });
  const loans = new Map();
  function render() {
    const rows = [...loans.values()].sort((a, b) => b.data.applied_at.localeCompare(a.data.applied_at));
    list.replaceChildren(...(rows.length ? rows.map((l) => h("li", {
      class: l.id === params.get("new") ? "fresh" : "", "data-loan": l.id },
      h("div", {}, h("b", {}, l.data.amount_fmt), ` over ${l.data.tenure_months} months`,
        h("div", { class: "muted small" },
          `Loan ${l.data.loan_no} · EMI ${l.data.emi_fmt} · applied ${when(l.data.applied_at)}`)),
      h("div", { class: "right" }, pill(l.data.status, statusKind(l.data.status))))) :
      [h("li", { class: "muted" }, "No loans yet.")]));
  }
  show(h("div", { class: "row" }, h("h1", {}, "My loans"),
    h("a", { class: "button primary", href: "#/loans/new" }, "Apply for a loan")),
  card(null, list, h("p", { class: "muted small" }, "Status changes appear here as the office works on them.")));
  render();
  await live.subscribe("loans.mine", {}, (event, payload) => {
    if (event === "snapshot") { loans.clear(); for (const l of payload) loans.set(l.id, l); }
    if (event === "delta") {
      for (const c of payload) {
        if (c.kind === "removed") loans.delete(c.id); else loans.set(c.id, c);
        if (c.kind === "modified") toast(`Loan ${c.data.loan_no} (${c.data.amount_fmt}): ${c.data.status}`);
      }
    }
    render();
  });
}

function scheduleTable(p) {
  return h("table", { class: "schedule" },
    h("thead", {}, h("tr", {}, ["#", "EMI", "Interest", "Principal", "Balance"].map((c) => h("th", {}, c)))),
    h("tbody", {}, p.schedule.map((r) => h("tr", {}, h("td", {}, r.number), h("td", {}, r.emi_fmt),
      h("td", {}, r.interest_fmt), h("td", {}, r.principal_fmt), h("td", {}, r.balance_fmt)))));
}

function loanApplyPage() {
  const amount = h("input", { id: "amount", inputmode: "decimal", value: "50,000", autocomplete: "off" });
  const tenure = h("input", { id: "tenure", type: "number", min: "1", max: "60", value: "12" });
  const purpose = h("input", { id: "purpose", maxlength: "200", placeholder: "e.g. shop stock" });
  const preview = h("div", { class: "preview", id: "preview" }, h("span", { class: "muted" }, "…"));
  const schedule = h("details", { class: "schedule-box" }, h("summary", {}, "Full schedule"));
  const msg = h("div", { class: "msg" });
  let seq = 0, timer = null;

  async function refresh() {
    const mine = ++seq;
    const q = new URLSearchParams({ amount: amount.value, tenure: tenure.value });
    try {
      const p = await api("/api/loans/preview?" + q);
      if (mine !== seq) return;
      preview.replaceChildren(
        h("div", { class: "emi" }, h("span", { class: "muted" }, "EMI "), h("b", { id: "emi" }, p.emi_fmt),
          h("span", { class: "muted" }, " a month")),
        h("div", { class: "muted small" }, `${p.tenure_months} months at ${p.rate_fmt} a year ` +
          `(reducing balance) · interest ${p.total_interest_fmt} · total ${p.total_payable_fmt}`));
      schedule.replaceChildren(h("summary", {}, `Full schedule (${p.schedule.length} instalments)`),
        h("div", { class: "scroll" }, scheduleTable(p)));
    } catch (err) {
      if (mine === seq) preview.replaceChildren(errorBox(err));
    }
  }
  function later() { clearTimeout(timer); timer = setTimeout(refresh, 250); }
  amount.addEventListener("input", later);
  tenure.addEventListener("input", later);

  async function submit(ev) {
    ev.preventDefault(); msg.replaceChildren();
    try {
      const r = await api("/api/loans", { json: { amount: amount.value, tenure: tenure.value,
        purpose: purpose.value } });
      toast("Application sent. Its status updates live.", "ok");
      location.hash = `#/loans?new=${r.loan_id}`;
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }

  show(h("h1", {}, "Apply for a loan"), card(null,
    h("form", { class: "form", id: "loan-form", onsubmit: submit },
      h("label", { for: "amount" }, "Amount (₹)"), amount,
      h("label", { for: "tenure" }, "Tenure (months)"), tenure,
      preview, schedule,
      h("label", { for: "purpose" }, "Purpose"), purpose,
      h("button", { type: "submit", class: "primary" }, "Submit application")), msg));
  refresh();
}

// -- group health and agreement --------------------------------------------------------

async function groupPage(groupId) {
  const g = await api(`/api/groups/${encodeURIComponent(groupId)}/health`);
  const bar = h("div", { class: "bar" }, h("div", { class: "fill" }));
  bar.firstChild.style.width = (g.progress_bps / 100) + "%";
  show(h("h1", {}, g.name), h("p", { class: "muted" }, `${g.chit_amount_fmt} chit · ${g.members} members · ${g.status}`),
    card("Cycle progress", bar, h("p", {}, `${g.periods_done} of ${g.members} periods settled (${g.progress_fmt})`),
      g.next_auction_date ? h("p", { class: "muted" }, `Next auction ${when(g.next_auction_date)}`) : null),
    h("div", { class: "grid" },
      card(null, stat("Group pool", g.pool_fmt)),
      card(null, stat(g.period ? `Paid in period ${g.period}` : "Paid this period",
        `${g.paid_count} of ${g.members}`, `${g.collected_fmt} of ${g.expected_fmt}`)),
      card(null, stat("Defaulters", String(g.defaulters), g.defaulters ? `${g.overdue_fmt} overdue` : "None")),
      card(null, stat("Foreman's commission", g.commission_earned_fmt, `${g.commission_collected_fmt} collected`))),
    h("p", {}, h("a", { href: `#/groups/${groupId}/agreement` }, "Read the chit agreement →")));
}

function signedBox(sig) {
  return h("div", { class: "signed", id: "signed" }, h("b", {}, "✓ Signed"),
    h("div", {}, `on ${when(sig.signed_at)}`),
    h("div", { class: "mono small wrap" }, "SHA-256 of the text: " + sig.text_sha256),
    sig.current ? null : h("div", { class: "error" }, "The terms changed after you signed."));
}

async function agreementPage(groupId) {
  const a = await api(`/api/groups/${encodeURIComponent(groupId)}/agreement`);
  const msg = h("div", { class: "msg" });
  const read = h("input", { type: "checkbox", id: "read" });
  const button = h("button", { class: "primary", id: "sign", type: "button", disabled: true,
    onclick: sign }, "Sign the agreement");
  read.addEventListener("change", () => { button.disabled = !read.checked; });
  const action = h("div", { id: "sign-area" }, a.signature ? signedBox(a.signature) : [
    h("label", { class: "check" }, read, " I have read every term above."), button]);

  async function sign() {
    button.disabled = true; msg.replaceChildren();
    try {
      const r = await api(`/api/groups/${encodeURIComponent(groupId)}/agreement/sign`,
        { json: { sha256: a.sha256 } });
      action.replaceChildren(signedBox(r.signature));
    } catch (err) { msg.replaceChildren(errorBox(err)); button.disabled = false; }
  }
  show(h("h1", {}, "Chit agreement"), card(a.title,
    h("ol", { class: "clauses" }, a.clauses.map((c) => h("li", {}, c.replace(/^\d+\.\s*/, "")))),
    h("p", { class: "mono small muted wrap" }, "SHA-256: " + a.sha256)), card(null, action, msg));
}

// -- integrity: this browser checks the log itself --------------------------------------

/* Kept in this browser (localStorage, per server) between visits:
   tfos.log.key        the log's verifier key as first seen, and when (trust on first use);
   tfos.log.seen       the newest checkpoint this browser verified: {note, size, root, at};
   tfos.log.landmarks  roots of that same history at other sizes [{size, root}], from the
                       inclusion proofs of the member's own records: they tell at which
                       size a history rewritten later parts from the one seen. */
const KEPT = { key: "tfos.log.key", seen: "tfos.log.seen", marks: "tfos.log.landmarks" };
const MAX_MARKS = 512;
let logCheck = null;

function kept(name) {
  try { return JSON.parse(localStorage.getItem(KEPT[name]) || "null"); } catch (err) { return null; }
}
function keep(name, value) { localStorage.setItem(KEPT[name], JSON.stringify(value)); }
const mark = (size, root) => ({ size, root: TLog.hex(root) });
const tree = (m) => ({ size: m.size, root: TLog.fromHex(m.root, "kept root") });

function checkLog(fresh) {
  if (fresh || !logCheck) {
    logCheck = verifyLog().catch((err) => err.code === "log_forked" ?
      { state: "bad", badge: "Log forked", headline: "The log no longer extends its own checkpoint",
        text: err.message, records: [] } :
      { state: "error", headline: "The log could not be checked", text: err.message, records: [] });
  }
  return logCheck;
}

async function verifyLog() {
  const began = performance.now();
  const cp = await api("/api/checkpoint");
  const pinned = kept("key");
  const key = pinned || { vkey: cp.verifier_key, since: new Date().toISOString() };
  const r = { state: "ok", key, served: cp, seen: kept("seen"), records: [], checkpoint: null };
  if (pinned && pinned.vkey !== cp.verifier_key) return keyChanged(r);
  try {
    r.checkpoint = await TLog.openCheckpoint(cp.checkpoint, key.vkey);
  } catch (err) {
    if (!(err instanceof TLog.ProofError)) throw err;
    return { ...r, state: "bad", badge: "Bad signature", headline: "The checkpoint's signature fails",
      text: err.message };
  }
  if (!pinned) keep("key", key);
  const now = r.checkpoint;
  const marks = [mark(now.size, now.root)];
  r.records = await checkOwnRecords(now, marks);
  const wrong = r.records.find((x) => x.ok === false);
  if (wrong) {
    return { ...r, state: "bad", badge: `Record ${wrong.lsn} not proven`,
      headline: `Your record ${wrong.lsn} is not in the signed log`, text: wrong.error };
  }
  if (r.seen && !(await agrees(tree(r.seen), now))) return rewritten(r, await divergence(r.seen, now));
  keep("seen", { note: now.note, size: now.size, root: TLog.hex(now.root), at: new Date().toISOString() });
  keepMarks(marks);
  r.ms = performance.now() - began;
  return r;
}

function keyChanged(r) {
  return { ...r, state: "bad", badge: "Log key changed", headline: "The log's signing key changed",
    text: `This is not the key this browser first saw, on ${when(r.key.since)}. Checkpoints ` +
      "signed with another key say nothing about the history you saw before, so none is " +
      "trusted. Ask the office why the key changed.",
    keys: [["First seen", r.key.vkey], ["Now", r.served.verifier_key]] };
}

async function checkOwnRecords(now, marks) {
  if (!state.me || state.me.actor.role !== "member") return [];
  const { records } = await api("/api/proof/records");
  const due = records.filter((x) => x.lsn <= now.size);
  for (let i = 0; i < due.length; i += 6) {
    await Promise.all(due.slice(i, i + 6).map(async (x) => {
      try {
        const doc = await api(`/api/proof/inclusion?lsn=${x.lsn}&size=${now.size}`);
        const roots = await TLog.checkInclusion(doc, now);
        marks.push(mark(roots.before.size, roots.before.root), mark(roots.through.size, roots.through.root));
        x.ok = true;
      } catch (err) {
        if (!(err instanceof TLog.ProofError)) throw err;
        x.ok = false; x.error = err.message;
      }
    }));
  }
  return records;
}

/* Does the log the server shows now (`now`) extend the tree `seen` of the history this
   browser saw? A consistency proof says so, or not. */
async function agrees(seen, now) {
  if (seen.size > now.size) return false;
  try {
    const doc = await api(`/api/proof/consistency?from=${seen.size}&to=${now.size}`);
    await TLog.checkConsistency(doc, seen, now);
    return true;
  } catch (err) {
    if (err instanceof TLog.ProofError) return false;
    throw err;
  }
}

/* The sizes between which the two histories part: the largest kept size where the log
   still agrees with what this browser saw, and the smallest where it does not (binary
   search over the landmarks: agreeing at a size means agreeing at every smaller one). */
async function divergence(seen, now) {
  const bySize = new Map();
  for (const m of kept("marks") || []) if (m.size > 0 && m.size < seen.size) bySize.set(m.size, m);
  const known = [...bySize.values()].sort((a, b) => a.size - b.size);
  let agree = 0, differ = seen.size, lo = 0, hi = known.length - 1;
  while (lo <= hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (await agrees(tree(known[mid]), now)) { agree = known[mid].size; lo = mid + 1; }
    else { differ = known[mid].size; hi = mid - 1; }
  }
  return { agree, differ };
}

function rewritten(r, { agree, differ }) {
  const seen = r.seen, now = r.checkpoint;
  const which = differ === agree + 1 ? `record ${differ} is not the one you saw` :
    `one of records ${agree + 1} to ${differ} is not what you saw`;
  return { ...r, state: "bad", diverged: { agree, differ },
    badge: `Rewritten · diverges at size ${differ}`,
    headline: `The log was rewritten: it diverges at size ${differ}`,
    text: `This browser saw the log with ${seen.size} records on ${when(seen.at)}. The log the ` +
      `server shows now (${now.size} records) does not continue it: ${which}` +
      (agree ? `; the first ${agree} records still are.` : ".") + " Both checkpoints below are " +
      "signed with the log's key and cannot both be true: keep them, and show them to the office " +
      "and to an auditor.",
    evidence: [[`Seen on ${when(seen.at)}`, seen.note], ["Shown now", now.note]] };
}

function keepMarks(marks) {
  const all = new Map((kept("marks") || []).map((m) => [m.size, m]));
  for (const m of marks) { all.delete(m.size); all.set(m.size, m); }
  keep("marks", [...all.values()].slice(-MAX_MARKS));
}

function recordsCard(r) {
  if (!state.me || state.me.actor.role !== "member" || !r.checkpoint) return null;
  const size = r.checkpoint ? r.checkpoint.size : 0;
  return card("Your records in the log", r.records.length ? h("ul", { class: "list", id: "own-records" },
    r.records.map((x) => h("li", { "data-lsn": x.lsn },
      h("div", {}, h("div", {}, x.what), h("div", { class: "muted small" }, `Record ${x.lsn} · ${when(x.ts)}`),
        x.error ? h("div", { class: "error small" }, x.error) : null),
      h("div", { class: "right" }, recordPill(r, x, size))))) :
    h("p", { class: "muted" }, "No receipts, bids or signatures of yours yet."),
  h("p", { class: "muted small" }, "For each record your browser hashes its line and checks the " +
    "proof that it is in the tree the checkpoint signs."));
}

/* A record after the size where the histories part was rewritten: its line (at least
   its link to the record before) is not the one this browser saw. */
function recordPill(r, x, size) {
  if (x.ok === false) return pill("✗ not proven", "bad");
  if (r.diverged && x.lsn > r.diverged.agree && x.lsn <= r.seen.size) return pill("✗ rewritten", "bad");
  if (x.ok) return pill("✓ in the log", "ok");
  return pill(x.lsn > size ? "next visit" : "unchecked", "wait");
}

function checkpointCard(r) {
  const cp = r.checkpoint;
  if (!cp) return null;
  return card("Signed checkpoint",
    stat("Records", String(cp.size), r.state !== "ok" ? "As the server shows them now" : r.seen ?
      `Consistent with the ${r.seen.size} records this browser saw on ${when(r.seen.at)}` :
      "The first checkpoint this browser keeps"),
    stat("Root (SHA-256)", h("span", { class: "mono wrap", id: "root" }, TLog.hex(cp.root))),
    stat("Log key", h("span", { class: "mono wrap", id: "log-key" }, r.key.vkey),
      `Trusted since this browser first saw it, on ${when(r.key.since)}`),
    h("details", {}, h("summary", { class: "small" }, "The checkpoint as signed"),
      h("pre", { class: "mono small wrap note" }, cp.note)));
}

async function integrityPage() {
  const r = await checkLog(true);
  refreshBadge(false);
  const server = await integrityReport(true).catch(() => null);
  const verdict = card(null,
    h("div", { class: "verdict " + (r.state === "ok" ? "ok" : "bad"), id: "verdict" },
      r.state === "ok" ? "✓ Your browser verified the log" : `✗ ${r.headline}`),
    r.state === "ok" ? h("p", {}, `Checked here in ${Math.round(r.ms)} ms, with nothing but your ` +
      "browser: the log's signature on its latest checkpoint, that each of your records is in it, " +
      "and that it extends what this browser saw before.") : h("p", { id: "verdict-text" }, r.text || ""),
    ...(r.keys || []).map(([label, vkey]) => stat(label, h("span", { class: "mono wrap" }, vkey))));
  const evidence = r.evidence ? card("Keep these: two signed histories",
    ...r.evidence.map(([label, note]) => h("div", {}, h("div", { class: "muted small" }, label),
      h("pre", { class: "mono small wrap note" }, note)))) : null;
  const chain = server ? card("The server's own check", stat("Entries", String(server.entries)),
    stat("Head hash", h("span", { class: "mono wrap", id: "head-hash" }, server.head_hash || "—")),
    h("p", { class: "muted small" }, `${server.verified ? "Chain intact" : "Chain broken"}: ` +
      `re-hashed ${when(server.checked_at)} in ${server.seconds} s. A hash chain shows the log is ` +
      "self-consistent; the checks above show it is the log you saw.")) : null;
  show(...[h("h1", {}, "Integrity"), verdict, evidence, recordsCard(r), checkpointCard(r), chain]
    .filter(Boolean));
}

// -- auction room ----------------------------------------------------------------------

async function auctionPage(auctionId) {
  let info = await api(`/api/auctions/${encodeURIComponent(auctionId)}`);
  let offset = new Date(info.server_now).getTime() - Date.now();
  const bids = new Map(info.bids.map((b) => [b.n, b]));
  const clock = h("div", { class: "countdown", id: "countdown" });
  const best = h("div", { class: "best", id: "best" });
  const feed = h("ul", { class: "list feed", id: "bids" });
  const mine = h("div", { class: "mine", id: "mine" });
  const result = h("div", { id: "result" });
  const msg = h("div", { class: "msg", id: "bid-msg" });
  const input = h("input", { id: "bid", inputmode: "decimal", autocomplete: "off" });
  const form = h("form", { class: "form bid-form", onsubmit: bid },
    h("label", { for: "bid" }, "Your bid (discount you forgo, ₹)"),
    h("div", { class: "row" }, input, h("button", { class: "primary", type: "submit", id: "bid-btn" }, "Bid")));

  function renderBids() {
    const rows = [...bids.values()].sort((a, b) => b.n - a.n);
    feed.replaceChildren(...(rows.length ? rows.map((b) => h("li", {
      class: b.alias === info.me.alias ? "own" : "" },
      h("span", {}, h("b", {}, b.alias), b.alias === info.me.alias ? " (you)" : ""),
      h("span", { class: "right" }, h("b", {}, b.discount_fmt), h("br"),
        h("span", { class: "muted small" }, clockTime(b.at))))) :
      [h("li", { class: "muted" }, "No bids yet.")]));
  }
  function renderState() {
    const a = info.auction, me = info.me;
    best.replaceChildren(stat("Highest discount", a.best_discount_fmt || "No bid yet",
      a.best_alias ? `by ${a.best_alias}${a.best_alias === me.alias ? " (you)" : ""}` : null));
    mine.replaceChildren(me.alias ? h("div", {}, "You bid as ", h("b", {}, me.alias)) : null,
      me.may_bid ? h("div", { class: "muted small" }, `Next valid bid ${me.min_bid_fmt} to ${me.max_bid_fmt}, ` +
        `in steps of ${info.terms.step_fmt}.`) : h("div", { class: "warn" }, me.reason));
    form.classList.toggle("hidden", !me.may_bid || a.status !== "open");
    if (!input.value || document.activeElement !== input) input.value = (me.min_bid / 100).toFixed(0);
    if (a.status === "closed") {
      const won = a.winner_alias && a.winner_alias === me.alias;
      result.replaceChildren(card("Result",
        h("p", { class: won ? "ok big" : "big" }, won ? "You won this period's prize." :
          `Won by ${a.winner_alias || "—"}`),
        stat("Winning discount", a.discount_fmt || "—"),
        h("p", { class: "mono small wrap" }, "Seed (revealed): " + (a.seed || "—")),
        h("p", { class: "mono small wrap muted" }, "Committed SHA-256: " + a.seed_hash)));
    }
    tick();
  }
  function tick() {
    const a = info.auction;
    if (a.status === "closed") { clock.textContent = "Closed"; clock.className = "countdown closed"; return; }
    const left = Math.max(0, new Date(a.ends_at).getTime() - (Date.now() + offset));
    const s = Math.floor(left / 1000);
    clock.textContent = left > 0 ? `${String(Math.floor(s / 60)).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
      : "Closing…";
    clock.className = "countdown" + (s <= 30 ? " soon" : "");
  }
  async function reload() {
    info = await api(`/api/auctions/${encodeURIComponent(auctionId)}`);
    offset = new Date(info.server_now).getTime() - Date.now();
    renderState();
  }
  async function bid(ev) {
    ev.preventDefault(); msg.replaceChildren();
    const paise = toPaise(input.value);
    if (paise === null) { msg.replaceChildren(errorBox({ message: "Enter the discount in rupees, e.g. 2500." })); return; }
    try {
      const r = await live.request(`auction.${auctionId}`, "bid", { discount: paise });
      msg.replaceChildren(h("p", { class: "ok" }, `Your bid of ${r.discount_fmt} is recorded` +
        (r.extended ? "; the auction was extended." : ".")));
    } catch (err) { msg.replaceChildren(errorBox(err)); }
  }

  show(h("h1", {}, `Auction · ${info.group.name}`),
    h("p", { class: "muted" }, `Period ${info.auction.period} · chit ${info.group.chit_amount_fmt} · ` +
      `bids from ${info.terms.floor_fmt} to ${info.terms.max_bid_fmt}`),
    h("div", { class: "grid" }, card("Time left", clock, h("p", { class: "muted small" }, info.extension_rule)),
      card(null, best, mine, form, msg)), result, card("Bids (live, under aliases)", feed));
  renderBids(); renderState();
  every(250, tick);
  await live.subscribe(`auction.${auctionId}`, {}, (event, payload) => {
    if (event === "snapshot") { bids.clear(); for (const b of payload) bids.set(b.data.n, b.data); }
    if (event === "delta") for (const c of payload) if (c.kind !== "removed") bids.set(c.data.n, c.data);
    renderBids();
  });
  await live.subscribe(`auction.status.${auctionId}`, {}, (event) => {
    if (event === "delta") reload();
  });
}

// -- router ----------------------------------------------------------------------------

const ROUTES = [
  [/^\/signin$/, "signin", signInPage],
  [/^\/$/, "dashboard", dashboardPage],
  [/^\/timeline$/, "timeline", timelinePage],
  [/^\/loans$/, "loans", loansPage],
  [/^\/loans\/new$/, "loans", loanApplyPage],
  [/^\/groups\/([^/]+)$/, "dashboard", groupPage],
  [/^\/groups\/([^/]+)\/agreement$/, "dashboard", agreementPage],
  [/^\/integrity$/, "integrity", integrityPage],
  [/^\/auctions\/([^/]+)$/, "dashboard", auctionPage],
];

async function route() {
  live.unsubscribeAll();
  document.getElementById("toast").classList.add("hidden");
  for (const t of state.timers) clearInterval(t);
  state.timers = [];
  const [path, query] = (location.hash.slice(1) || "/").split("?");
  if (!state.me && path !== "/signin") {
    try { state.me = await api("/api/me"); } catch (err) { return; }
    showHeader();
  }
  const match = ROUTES.find(([re]) => re.test(path));
  if (!match) { show(card("Not found", h("a", { href: "#/" }, "Go home"))); return; }
  const [re, name, page] = match;
  document.body.dataset.page = name;
  for (const a of document.querySelectorAll("#nav a")) a.classList.toggle("active", a.dataset.route === name);
  const args = re.exec(path).slice(1).map(decodeURIComponent);
  view().replaceChildren(h("p", { class: "muted" }, "Loading…"));
  try {
    await page(...(args.length ? args : [new URLSearchParams(query || "")]));
  } catch (err) {
    if (err.status !== 401) show(errorBox(err));
  }
}

function sessionEnded(notice) {
  state.me = null;
  logCheck = null;
  state.notice = notice || "";
  showHeader();
  location.hash = "#/signin";
}

async function signOut() {
  live.close();
  await api("/api/signout", { json: {} }).catch(() => {});
  sessionEnded();
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  document.getElementById("signout").addEventListener("click", signOut);
  route();
});
