"use strict";
const $ = (s) => document.querySelector(s);
let CONFIG = null, SCENARIO = null, RESULT = null;
let shown = {job: null, complete: null}, pollTimer = null, autoTimer = null;
let shownErrorJob = null;
const idOf = (key) => key.replace(/\./g, "-");
// This tab's token: the server keeps a state (run, progress, result) per token, so tabs do not
// replace each other's runs. Kept for the tab's life, so a reload shows the tab's last result.
const TAB = (() => {
  let t = null;
  try { t = sessionStorage.getItem("escalation-tab"); } catch (e) { /* storage off */ }
  if (!t || !/^[A-Za-z0-9_-]{8,64}$/.test(t)) {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    t = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    try { sessionStorage.setItem("escalation-tab", t); } catch (e) { /* this load only */ }
  }
  return t;
})();
const DOWNLOADS = {"monthly.csv": "monthly tempo (CSV)", "events.csv": "events (CSV)",
  "tempo.png": "figure (PNG)", "scenario.yaml": "scenario (YAML)"};

async function api(path, body) {
  const headers = {"X-Tab": TAB};
  const opts = body === undefined ? {headers} : {method: "POST", body: JSON.stringify(body),
    headers: {...headers, "Content-Type": "application/json"}};
  let r;
  try { r = await fetch(path, opts); }
  catch (e) { throw new Error("the dashboard server does not answer (is it still running?)"); }
  let data;
  try { data = await r.json(); }
  catch (e) { data = {error: "unexpected answer from the server (" + r.status + ")"}; }
  if (!r.ok) throw new Error(data.error || ("error " + r.status));
  return data;
}

function showError(msg) {
  const el = $("#error");
  el.textContent = msg || "";
  el.hidden = !msg;
}

function decimals(step) {
  const s = String(step);
  return s.includes(".") ? s.split(".")[1].length : 0;
}
function fmt(v, d) { return Number(v).toFixed(d); }
// A value as the box shows it: at the slider's precision, or in full if it lies off the grid
// (a fitted value), so that showing it does not change it.
function show(v, step) {
  const t = fmt(v, decimals(step));
  return Math.abs(Number(t) - Number(v)) < 1e-9 ? t : String(Number(Number(v).toPrecision(6)));
}
function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;"}[c]));
}
function num(v, d) {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  return Number(v).toLocaleString("en-US", {maximumFractionDigits: d, minimumFractionDigits: d});
}
function signed(v, d) { const t = num(v, d); return v > 0 ? "+" + t : t; }

function buildControls() {
  const form = $("#controls");
  let group = null;
  for (const p of CONFIG.params) {
    if (p.group !== group) {
      group = p.group;
      const h = document.createElement("h2");
      h.textContent = group;
      form.appendChild(h);
      if (group === CONFIG.hold_group) form.appendChild(holdField());
    }
    const f = document.createElement("div");
    f.className = "field";
    f.dataset.key = p.key;
    f.title = `${p.help} (schema default: ${p.default})`;
    const id = idOf(p.key);
    if (p.kind === "number") {
      f.innerHTML = `<label for="${id}">${esc(p.label)} <span class="was"></span></label>
        <div class="row"><input type="range" id="${id}" min="${p.low}" max="${p.high}"
        step="${p.step}" data-key="${p.key}"><input class="box" id="${id}-box"
        inputmode="decimal" aria-label="${esc(p.label)} value"></div>`;
      const slider = f.querySelector("input[type=range]"), box = f.querySelector(".box");
      slider.addEventListener("input", () => {
        box.value = fmt(slider.value, decimals(p.step)); changed();
      });
      box.addEventListener("input", () => {
        const v = Number(box.value);
        if (box.value.trim() !== "" && Number.isFinite(v)) slider.value = v;
        changed();
      });
    } else if (p.kind === "choice") {
      f.innerHTML = `<label for="${id}">${esc(p.label)} <span class="was"></span></label>
        <select id="${id}" data-key="${p.key}">${p.choices.map((c) =>
          `<option value="${c}">${c.replaceAll("_", " ")}</option>`).join("")}</select>`;
      f.querySelector("select").addEventListener("change", changed);
    } else {
      f.innerHTML = `<label class="check"><input type="checkbox" id="${id}" data-key="${p.key}">
        <span>${esc(p.label)} <span class="was"></span></span></label>
        <div class="hint">${esc(p.help)}</div>`;
      f.querySelector("input").addEventListener("change", changed);
    }
    form.appendChild(f);
  }
}

function holdField() {
  const f = document.createElement("div");
  f.className = "field";
  f.dataset.key = "hold";
  f.innerHTML = `<label class="check"><input type="checkbox" id="hold">
    <span>Hold the doctrine for the whole run</span></label>
    <div class="hint" id="hold-hint"></div>`;
  f.querySelector("input").addEventListener("change", changed);
  return f;
}

function getValue(p) {
  const id = idOf(p.key);
  if (p.kind === "number") {
    const t = $("#" + id + "-box").value.trim(), v = Number(t);
    return t !== "" && Number.isFinite(v) ? v : t;
  }
  if (p.kind === "choice") return $("#" + id).value;
  return $("#" + id).checked;
}

function setValue(p, v) {
  const id = idOf(p.key);
  if (p.kind === "number") {
    $("#" + id).value = v;
    $("#" + id + "-box").value = show(v, p.step);
  } else if (p.kind === "choice") $("#" + id).value = v;
  else $("#" + id).checked = !!v;
}

function same(a, b) {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) < 1e-9;
  return a === b;
}

function markChanged() {
  if (!SCENARIO) return;
  for (const p of CONFIG.params) {
    const f = document.querySelector(`.field[data-key="${p.key}"]`);
    const was = SCENARIO.values[p.key];
    const differs = !same(getValue(p), was);
    f.classList.toggle("changed", differs);
    let shownWas = was;
    if (p.kind === "number" && typeof was === "number") shownWas = show(was, p.step);
    if (p.kind === "flag") shownWas = was ? "on" : "off";
    f.querySelector(".was").textContent = differs ? "scenario: " + shownWas : "";
  }
  document.querySelector('.field[data-key="hold"]').classList.toggle("changed",
    $("#hold").checked);
}

function changed() {
  markChanged();
  if ($("#autorun").checked) {
    clearTimeout(autoTimer);
    autoTimer = setTimeout(run, 600);
  }
}

async function loadScenario(id) {
  showError("");
  try {
    SCENARIO = await api("/api/scenario?id=" + encodeURIComponent(id));
  } catch (e) {
    SCENARIO = null;
    $("#scenario-desc").textContent = "";
    showError(e.message);
    return false;
  }
  $("#scenario-desc").textContent = SCENARIO.description;
  for (const p of CONFIG.params) setValue(p, SCENARIO.values[p.key]);
  const hold = $("#hold");
  hold.checked = false;
  hold.disabled = !SCENARIO.hold_available;
  $("#hold-hint").textContent = SCENARIO.hold_available
    ? `Values you change hold from start to end anyway; this also drops the timeline's ` +
      `doctrine change '${SCENARIO.hold_event.label}' (${SCENARIO.hold_event.date}), so the ` +
      `scenario's own values hold too.`
    : "This scenario has no doctrine change in its timeline.";
  markChanged();
  return true;
}

function request() {
  const values = {};
  for (const p of CONFIG.params) values[p.key] = getValue(p);
  const whole = (t) => (/^\s*-?\d+\s*$/.test(t) ? Number(t) : t);
  return {scenario: $("#scenario").value, values, hold: $("#hold").checked,
          replicates: whole($("#replicates").value), seed: whole($("#seed").value)};
}

async function run() {
  clearTimeout(autoTimer);
  try {
    await api("/api/run", request());
  } catch (e) {
    showError(e.message);
    return;
  }
  showError("");
  poll(true);
}

async function cancel() {
  try { await api("/api/cancel", {}); } catch (e) { showError(e.message); }
  poll(true);
}

function renderStatus(s) {
  document.body.dataset.state = s.state;
  const msg = $("#status"), bar = $("#progress");
  msg.classList.toggle("error", s.state === "error");
  const running = s.state === "running";
  $("#cancel").disabled = !running;
  $("#run").title = running ? "Stops the run in progress and starts one with these settings" : "";
  bar.hidden = !running;
  if (running) {
    bar.max = Math.max(s.total, 1);
    bar.value = s.done;
    msg.textContent = `${s.message[0].toUpperCase()}${s.message.slice(1)}: ` +
      `${s.done} of ${s.total} runs`;
  } else if (s.state === "done") {
    msg.textContent = "Done: " + s.message;
  } else if (s.state === "error") {
    msg.textContent = "The run failed (see the message on the left)";
    if (shownErrorJob !== s.job) { shownErrorJob = s.job; showError(s.error); }
  } else if (s.state === "cancelled") {
    msg.textContent = "Cancelled" + (s.result ? "; showing the previous result" : "");
  } else {
    msg.textContent = "Ready";
  }
}

async function poll(now) {
  clearTimeout(pollTimer);
  let s = null;
  try {
    s = await api("/api/status");
    renderStatus(s);
    if (s.result !== null && (s.result !== shown.job || s.complete !== shown.complete)) {
      const r = await api("/api/result");
      renderResult(r);
    }
  } catch (e) {
    $("#status").textContent = e.message;
  }
  const delay = s && s.state === "running" ? 300 : 1500;
  pollTimer = setTimeout(poll, delay);
}

function renderResult(r) {
  RESULT = r;
  shown = {job: r.job, complete: r.complete};
  $("#warnings").innerHTML = (r.warnings || []).map((w) => `<li>${esc(w)}</li>`).join("");
  document.body.dataset.result = r.job;
  document.body.dataset.complete = r.complete;
  drawTempo(false);
  renderDownloads(r);
  const keys = Object.keys(r.overrides);
  const what = keys.length
    ? "Your settings: " + keys.map((k) =>
        `<b>${esc(k)}</b> = ${esc(JSON.stringify(r.overrides[k]))}`).join(", ")
    : "The scenario as written";
  $("#changes").innerHTML = `${what} &middot; ${esc(r.scenario)}, ${r.replicates} runs, seed ` +
    `${r.seed}${r.record ? "" : " &middot; no historical record for these dates"}<br>` +
    `Same runs from the command line: <code>${esc(r.command)}</code>`;
  renderCards(r);
  renderDifferences();
  renderEvents(true);
}

// The tempo chart of the shown result, drawn at the width of its box (again when that changes).
function drawTempo(resized) {
  const r = RESULT, box = $("#tempo-box");
  if (!r || !r.tempo) return;
  const chart = $("#tempo-svg"), width = String(Math.floor(box.clientWidth));
  if (chart && chart.dataset.job === String(r.job) && box.dataset.width === width) return;
  if (resized && !chart) return;
  box.dataset.width = width;
  Tempo.mount(box, r.tempo, r.job);
}

function renderDownloads(r) {
  const q = "?tab=" + encodeURIComponent(TAB);
  const stem = `${r.scenario}-${r.job}`;
  $("#downloads").innerHTML = `<span class="hint">Download:</span> ` +
    `<a href="#" id="dl-svg" download="${esc(stem)}-tempo.svg">figure (SVG)</a>` +
    Object.entries(DOWNLOADS).map(([name, label]) => ` <a id="dl-${name.replace(".", "-")}" ` +
      `href="/api/download/${name}${q}" download="${esc(stem)}-${name}">${label}</a>`).join("");
  $("#dl-svg").addEventListener("click", (ev) => {
    ev.preventDefault();
    const title = `Monthly attack tempo: ${r.name}, ${r.replicates} runs, seed ${r.seed}` +
      (Object.keys(r.overrides).length ? " (settings changed)" : "");
    const blob = new Blob([Tempo.figure(r.tempo, title)], {type: "image/svg+xml"});
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `${stem}-tempo.svg`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  });
}

function diffRow(period, metric) {
  if (!RESULT || !RESULT.differences) return null;
  return RESULT.differences.rows.find((d) => d.period === period && d.metric === metric);
}

function renderCards(r) {
  $("#cards").innerHTML = r.cards.map((c) => {
    const d = diffRow("overall", c.metric);
    let delta = "";
    if (r.differences && !r.identical && d) {
      const sig = d.ci_low > 0 || d.ci_high < 0;
      const arrow = d.mean_difference > 0 ? "&#9650;" : d.mean_difference < 0 ? "&#9660;" : "";
      delta = `<div class="delta ${sig ? "sig" : "flat"}">${arrow} ${signed(d.mean_difference, 1)}
        vs the scenario${sig ? "" : " (within noise)"}</div>`;
    } else if (!r.complete) {
      delta = `<div class="delta flat">comparing...</div>`;
    }
    return `<div class="card"><div class="label">${esc(c.label)} (median per run)</div>
      <div class="value">${num(c.median, 0)}</div>
      <div class="range">5-95%: ${num(c.low, 0)} to ${num(c.high, 0)}</div>${delta}</div>`;
  }).join("");
}

function bar(d) {
  const m = Math.max(Math.abs(d.low), Math.abs(d.high), Math.abs(d.ci_low),
                     Math.abs(d.ci_high), 1e-9);
  const x = (v) => 50 + (v / m) * 46;
  const c = d.ci_low > 0 || d.ci_high < 0 ? "#1f5fa8" : "#8a93a0";
  return `<svg width="100" height="14" aria-hidden="true">
    <line x1="50" x2="50" y1="0" y2="14" stroke="#444" stroke-width="1"/>
    <line x1="${x(d.low)}" x2="${x(d.high)}" y1="7" y2="7" stroke="${c}" stroke-opacity=".45"/>
    <line x1="${x(d.ci_low)}" x2="${x(d.ci_high)}" y1="7" y2="7" stroke="${c}" stroke-width="5"/>
    <circle cx="${x(d.mean_difference)}" cy="7" r="3" fill="#fff" stroke="${c}"/></svg>`;
}

function renderDifferences() {
  const body = $("#diff-body"), sel = $("#period"), r = RESULT;
  if (!r) return;
  if (!r.differences) {
    body.innerHTML = `<div class="placeholder">Running the unmodified scenario on the same ` +
      `${r.replicates} seeds...</div>`;
    return;
  }
  const dd = r.differences;
  const keep = sel.value || "overall";
  sel.innerHTML = dd.periods.map((p) => `<option value="${p.name}">${esc(p.label)}` +
    `${p.start ? " (from " + p.start + ")" : ""}</option>`).join("");
  sel.value = dd.periods.some((p) => p.name === keep) ? keep : "overall";
  const rows = dd.metrics.map((m) => {
    const d = diffRow(sel.value, m);
    if (!d) return "";
    return `<tr data-metric="${m}"><td>${esc(dd.labels[m])}</td>
      <td class="num">${num(d.reference_mean, 1)}</td><td class="num">${num(d.mean, 1)}</td>
      <td class="num"><b>${signed(d.mean_difference, 1)}</b><br>
      <span class="hint">${signed(d.ci_low, 1)} to ${signed(d.ci_high, 1)}</span></td>
      <td class="num">${num(100 * d.share_higher, 0)}%</td><td>${bar(d)}</td></tr>`;
  }).join("");
  body.innerHTML = `<div class="wide"><table><thead><tr><th>mean per run</th>
    <th class="num">scenario</th><th class="num">yours</th>
    <th class="num">difference<br>(90% interval)</th><th class="num">runs<br>higher</th><th></th>
    </tr></thead><tbody>${rows}</tbody></table></div>
    <div class="note">${r.identical ? "Your settings equal the scenario's: no difference. " : ""}
    Paired runs on the same ${r.replicates} seeds (your settings minus the scenario).
    Interval: 90% bootstrap interval of the mean difference. Bar: dot = mean, thick = that
    interval, thin = 5-95% of run differences.</div>`;
}

function renderEvents(fresh) {
  const r = RESULT;
  if (!r) return;
  const cols = r.events.columns, rows = r.events.rows;
  const ci = (c) => cols.indexOf(c);
  const actorSel = $("#actor"), actionSel = $("#action");
  if (fresh) {
    const keepA = actorSel.value, keepB = actionSel.value;
    const actors = [...new Set(rows.map((x) => x[ci("actor")]))].sort();
    const actions = [...new Set(rows.map((x) => x[ci("action")]))].sort();
    actorSel.innerHTML = `<option value="">all actors</option>` + actors.map((a) =>
      `<option value="${esc(a)}">${esc(r.actors[a] || a)}</option>`).join("");
    actionSel.innerHTML = `<option value="">all actions</option>` + actions.map((a) =>
      `<option value="${esc(a)}">${esc(a.replaceAll("_", " "))}</option>`).join("");
    actorSel.value = actors.includes(keepA) ? keepA : "";
    actionSel.value = actions.includes(keepB) ? keepB : "";
    $("#events-title").textContent = `Event log of run 1 (seed ${r.first_seed})`;
  }
  const a = actorSel.value, b = actionSel.value;
  const sel = rows.filter((x) => (!a || x[ci("actor")] === a) && (!b || x[ci("action")] === b));
  const heads = {date: "date", actor: "actor", action: "action", target: "target / what",
    weapon: "weapon", size: "size", claim: "claim", intercepted: "intercepted",
    us_wounded: "US wounded", us_killed: "US killed", detail: "detail"};
  const numeric = new Set(["size", "intercepted", "us_wounded", "us_killed"]);
  $("#events thead").innerHTML = "<tr>" + cols.map((c) =>
    `<th class="${numeric.has(c) ? "num" : ""}">${heads[c] || c}</th>`).join("") + "</tr>";
  $("#events tbody").innerHTML = sel.map((x) => `<tr class="${esc(x[ci("action")])}">` +
    x.map((v, i) => {
      const c = cols[i];
      const blank = v === null || v === "" || (numeric.has(c) && v === 0);
      return `<td class="${numeric.has(c) ? "num" : ""}">${blank ? "" : esc(v)}</td>`;
    }).join("") + "</tr>").join("");
  $("#event-count").textContent = `${sel.length} of ${rows.length} events`;
}

function restore(r) {
  for (const p of CONFIG.params) if (p.key in r.overrides) setValue(p, r.overrides[p.key]);
  $("#hold").checked = CONFIG.hold_override in r.overrides && SCENARIO.hold_available;
  $("#replicates").value = r.replicates;
  $("#seed").value = r.seed;
  markChanged();
}

async function start() {
  try {
    CONFIG = await api("/api/config");
  } catch (e) {
    $("#status").textContent = e.message;
    return;
  }
  const sel = $("#scenario");
  sel.innerHTML = CONFIG.scenarios.map((s) => `<option value="${s}">${s}</option>`).join("");
  sel.value = CONFIG.default_scenario;
  buildControls();
  $("#replicates").value = CONFIG.replicates;
  $("#seed").value = CONFIG.seed;
  sel.addEventListener("change", async () => {
    if (await loadScenario(sel.value) && $("#autorun").checked) run();
  });
  $("#run").addEventListener("click", run);
  $("#cancel").addEventListener("click", cancel);
  $("#reset").addEventListener("click", () => loadScenario(sel.value));
  $("#period").addEventListener("change", renderDifferences);
  $("#actor").addEventListener("change", () => renderEvents(false));
  $("#action").addEventListener("change", () => renderEvents(false));
  for (const id of ["#replicates", "#seed"]) $(id).addEventListener("input", changed);
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => drawTempo(true), 150);
  });
  let s = null, last = null;
  try {
    s = await api("/api/status");
    if (s.result !== null) last = await api("/api/result");
  } catch (e) { /* poll shows it */ }
  if (last && CONFIG.scenarios.includes(last.scenario)) sel.value = last.scenario;
  const ok = await loadScenario(sel.value);
  if (ok && last && last.scenario === sel.value) restore(last);
  if (ok && s && s.result === null && s.state !== "running") await run();
  else poll(true);
  document.body.dataset.ready = "true";
}
start();
