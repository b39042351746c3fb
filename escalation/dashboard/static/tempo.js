"use strict";
// The tempo chart: simulated monthly median and 90% band against the historical record, one
// panel per series, the record's phases shaded and the timeline's events marked, drawn as SVG
// from the result's `tempo` data at the width it is shown at, so its text keeps its size on
// any screen. Events are numbered badges (stacked so that no two overlap) keyed in a list
// below; hovering or tapping a badge, a key entry, a record figure or a month says what it is.
const Tempo = (() => {
  const SIM = "#1f5fa8", REC = "#c0392b", EVENT = "#666", TRUCE = "#9bbf85";
  const PHASE_FILL = ["#ececec", "#f8f8f8"];
  const FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
  const BADGE_R = 9, ROW = 21, LEFT = 40, RIGHT = 10;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
    "Dec"];
  let measure = null;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;",
      '"': "&quot;", "'": "&#39;"}[c]));
  }
  const day = (iso) => Date.parse(iso + "T00:00:00Z");
  const r1 = (v) => Math.round(v * 10) / 10;

  // Width of a text in px at a font size (a canvas measures without laying out the page).
  function textWidth(text, size, bold) {
    measure = measure || document.createElement("canvas").getContext("2d");
    measure.font = `${bold ? "600 " : ""}${size}px ${FONT}`;
    return measure.measureText(text).width;
  }

  function monthName(ym) {
    const [y, m] = ym.split("-");
    return `${MONTHS[Number(m) - 1]} ${y}`;
  }

  // Ticks for 0..top: at most `most` steps of 1, 2, 2.5 or 5 times a power of ten.
  function ticks(top, most) {
    const raw = top / most, mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = 0; v <= top + 1e-9; v += step) out.push(Math.round(v * 1000) / 1000);
    return out;
  }

  // A text broken into lines at most `maxW` px wide.
  function wrap(text, maxW, size, bold) {
    const lines = [];
    for (const word of String(text).split(/\s+/)) {
      const last = lines[lines.length - 1];
      if (last !== undefined && textWidth(last + " " + word, size, bold) <= maxW) {
        lines[lines.length - 1] = last + " " + word;
      } else lines.push(word);
    }
    return lines;
  }

  // Greedy rows: each item goes to the first row where it clears the last item placed there.
  function stack(items, gap, maxRows) {
    const ends = [];
    for (const it of items) {
      let row = ends.findIndex((end) => it.x0 >= end + gap);
      if (row < 0 && ends.length < maxRows) row = ends.length;
      it.row = row;
      if (row >= 0) ends[row] = it.x1;
    }
    return Math.max(ends.length, 0);
  }

  // Positions of everything, for a chart `width` px wide.
  function layout(data, width, narrow) {
    const t0 = day(data.start), t1 = day(data.end) + 864e5;
    const plotW = Math.max(width - LEFT - RIGHT, 60);
    const x = (iso) => LEFT + ((day(iso) - t0) / (t1 - t0)) * plotW;
    const phases = data.phases.map((p, i) => {
      const a = Math.max(x(p.start), LEFT), b = Math.min(x(p.end) + plotW * 864e5 / (t1 - t0),
        LEFT + plotW);
      const w = textWidth(p.label, 11) + 8, mid = (a + b) / 2;
      const x0 = Math.min(Math.max(mid - w / 2, LEFT), LEFT + plotW - w);
      return {...p, i, a, b, x0, x1: x0 + w, w};
    });
    const phaseRows = stack(phases, 4, 2);
    const events = data.events.map((e, i) => {
      const cx = x(e.date);
      return {...e, n: i + 1, cx, x0: cx - BADGE_R, x1: cx + BADGE_R};
    });
    const eventRows = stack(events, 2, 99);
    const phaseH = phases.length ? phaseRows * 16 + 6 : 0;
    const top = 4, badgesTop = top + phaseH + 2;
    const panelsTop = badgesTop + eventRows * ROW + 6;
    const panelH = narrow ? 92 : 104, gap = 8;
    let next = panelsTop;
    const panels = data.panels.map((p, i) => {
      const lines = wrap(p.title, width - 12, 12, true);
      const panel = {...p, i, lines, ty: next, y0: next + lines.length * 15 + 4, h: panelH};
      next = panel.y0 + panelH + gap;
      return panel;
    });
    const bottom = next - gap;
    return {x, t0, t1, plotW, phases, events, panels, top, badgesTop, bottom, width,
      height: bottom + 24, phaseRows};
  }

  function yScale(panel) {
    let top = Math.max(1, ...panel.high);
    for (const f of panel.record) for (const m of f.marks) {
      for (const k of ["y", "high"]) if (typeof m[k] === "number") top = Math.max(top, m[k]);
    }
    const ts = ticks(top * 1.05, 3);
    const max = ts[ts.length - 1] < top * 1.05 ? top * 1.05 : ts[ts.length - 1];
    const y = (v) => panel.y0 + panel.h - (v / max) * panel.h;
    return {y, ticks: ts.filter((v) => v <= max)};
  }

  function bandPath(panel, L, y) {
    const xs = panel.months.map((m) => L.x(m + "-15"));
    const up = xs.map((xx, i) => `${r1(xx)},${r1(y(panel.high[i]))}`);
    const down = xs.map((xx, i) => `${r1(xx)},${r1(y(panel.low[i]))}`).reverse();
    const median = xs.map((xx, i) => `${r1(xx)},${r1(y(panel.median[i]))}`).join(" ");
    return {band: `M${up.join("L")}L${down.join("L")}Z`, median};
  }

  function markSVG(m, L, y, panel) {
    const c = `stroke="${REC}"`;
    if (m.shape === "line") {
      const dash = m.dash ? ' stroke-dasharray="4 2"' : "";
      return `<line x1="${r1(L.x(m.x0))}" x2="${r1(L.x(m.x1))}" y1="${r1(y(m.y))}" ` +
        `y2="${r1(y(m.y))}" ${c} stroke-width="${m.thin ? 1.8 : 2.2}"${dash}/>`;
    }
    if (m.shape === "box") {
      const a = L.x(m.x0), b = L.x(m.x1), hi = y(m.high), lo = y(m.low);
      return `<rect x="${r1(a)}" y="${r1(hi)}" width="${r1(b - a)}" ` +
        `height="${r1(Math.max(lo - hi, 1))}" fill="${REC}" fill-opacity=".25" ${c} ` +
        `stroke-width="1.2"/>`;
    }
    if (m.shape === "zero") {
      const yy = r1(y(0) - 2);
      return `<line x1="${r1(L.x(m.x0))}" x2="${r1(L.x(m.x1))}" y1="${yy}" y2="${yy}" ${c} ` +
        `stroke-width="4" stroke-opacity=".8"/>`;
    }
    if (m.shape === "up" || m.shape === "down") {
      const cx = L.x(m.x), cy = y(m.y), s = 5, d = m.shape === "up" ? -1 : 1;
      return `<path d="M${r1(cx - s)},${r1(cy - d * s * 0.6)}L${r1(cx + s)},` +
        `${r1(cy - d * s * 0.6)}L${r1(cx)},${r1(cy + d * s)}Z" fill="${REC}"/>`;
    }
    if (m.shape === "star") {
      const cx = L.x(m.x), cy = panel.y0 + 10, pts = [];
      for (let k = 0; k < 10; k++) {
        const rad = k % 2 ? 2.8 : 7, a = -Math.PI / 2 + (k * Math.PI) / 5;
        pts.push(`${r1(cx + rad * Math.cos(a))},${r1(cy + rad * Math.sin(a))}`);
      }
      return `<polygon points="${pts.join(" ")}" fill="${REC}"/>`;
    }
    return "";
  }

  function panelSVG(panel, L, data) {
    const {y, ticks: ts} = yScale(panel);
    const right = LEFT + L.plotW, bottom = panel.y0 + panel.h;
    const parts = [`<g class="panel" data-panel="${panel.i}">`];
    for (const p of L.phases) {
      parts.push(`<rect x="${r1(p.a)}" y="${panel.y0}" width="${r1(p.b - p.a)}" ` +
        `height="${panel.h}" fill="${PHASE_FILL[p.i % 2]}"/>`);
    }
    for (const [a, b] of data.truces || []) {
      const x0 = L.x(a), x1 = L.x(b);
      parts.push(`<rect x="${r1(x0)}" y="${panel.y0}" width="${r1(Math.max(x1 - x0, 1))}" ` +
        `height="${panel.h}" fill="${TRUCE}" fill-opacity=".3"/>`);
    }
    for (const v of ts) {
      const yy = r1(y(v));
      parts.push(`<line x1="${LEFT}" x2="${right}" y1="${yy}" y2="${yy}" stroke="#d9d9d9" ` +
        `stroke-width="${v === 0 ? 1 : 0.6}"/><text x="${LEFT - 4}" y="${yy}" dy="0.32em" ` +
        `text-anchor="end" font-size="10" fill="#555">${v}</text>`);
    }
    const {band, median} = bandPath(panel, L, y);
    parts.push(`<path d="${band}" fill="${SIM}" fill-opacity=".25"/>`);
    parts.push(`<polyline points="${median}" fill="none" stroke="${SIM}" stroke-width="1.8" ` +
      `stroke-linejoin="round"/>`);
    panel.record.forEach((f, k) => {
      parts.push(`<g class="rec" data-panel="${panel.i}" data-fig="${k}">` +
        f.marks.map((m) => markSVG(m, L, y, panel)).join("") + "</g>");
    });
    panel.lines.forEach((line, k) => {
      parts.push(`<text class="panel-title" x="6" y="${panel.ty + 12 + k * 15}" ` +
        `font-size="12" font-weight="600" fill="#1d2430" stroke="#fff" stroke-width="3" ` +
        `paint-order="stroke">${esc(line)}</text>`);
    });
    parts.push(`<line x1="${LEFT}" x2="${LEFT}" y1="${panel.y0}" y2="${bottom}" ` +
      `stroke="#999" stroke-width=".8"/></g>`);
    return parts.join("");
  }

  function axisSVG(L) {
    const out = [];
    const y0 = L.bottom, first = new Date(L.t0).getUTCFullYear();
    const last = new Date(L.t1 - 864e5).getUTCFullYear();
    const every = L.plotW / (last - first + 1) < 38 ? 2 : 1;
    for (let yr = first; yr <= last + 1; yr++) {
      const xx = L.x(`${yr}-01-01`);
      if (xx < LEFT - 0.5 || xx > LEFT + L.plotW + 0.5) continue;
      out.push(`<line x1="${r1(xx)}" x2="${r1(xx)}" y1="${y0}" y2="${y0 + 5}" stroke="#555"/>`);
      if ((yr - first) % every === 0 && xx + 15 <= L.width) {
        out.push(`<text x="${r1(xx)}" y="${y0 + 17}" text-anchor="middle" font-size="11" ` +
          `fill="#333">${yr}</text>`);
      }
    }
    return out.join("");
  }

  function stripsSVG(L) {
    const out = [];
    for (const p of L.phases) {
      out.push(`<rect class="phase" data-phase="${p.i}" x="${r1(p.a)}" y="${L.top - 2}" ` +
        `width="${r1(p.b - p.a)}" height="${r1(L.phaseRows * 16 + 4)}" ` +
        `fill="${PHASE_FILL[p.i % 2]}"/>`);
    }
    for (const p of L.phases) {
      if (p.row < 0) continue; // no room: hovering the phase names it
      out.push(`<text class="phase-label" data-phase="${p.i}" x="${r1(p.x0 + p.w / 2)}" ` +
        `y="${L.top + p.row * 16 + 8}" text-anchor="middle" font-size="11" ` +
        `fill="#333">${esc(p.label)}</text>`);
    }
    for (const e of L.events) {
      const cy = L.badgesTop + e.row * ROW + BADGE_R;
      out.push(`<line class="event-line" data-event="${e.n}" x1="${r1(e.cx)}" x2="${r1(e.cx)}" ` +
        `y1="${r1(cy + BADGE_R)}" y2="${L.bottom}" stroke="${EVENT}" stroke-width=".8" ` +
        `stroke-dasharray="2 3"/>`);
      out.push(`<g class="event-badge" data-event="${e.n}" tabindex="0" role="button" ` +
        `aria-label="${esc(`${e.n}: ${e.date} ${e.label}`)}"><circle cx="${r1(e.cx)}" ` +
        `cy="${r1(cy)}" r="${BADGE_R}" fill="#fff" stroke="${EVENT}" stroke-width="1.2"/>` +
        `<text x="${r1(e.cx)}" y="${r1(cy)}" dy="0.35em" text-anchor="middle" font-size="10" ` +
        `font-weight="600" fill="#222">${e.n}</text></g>`);
    }
    return out.join("");
  }

  // The event key as SVG text (for the downloaded figure; the page keys events in HTML).
  function keySVG(L, y0, width) {
    const cols = Math.max(1, Math.floor((width - LEFT) / 360)), colW = (width - LEFT) / cols;
    const rows = Math.ceil(L.events.length / cols), out = [];
    L.events.forEach((e, k) => {
      const cx = LEFT + Math.floor(k / rows) * colW, cy = y0 + (k % rows) * 16;
      out.push(`<text x="${r1(cx)}" y="${cy}" font-size="11" fill="#222"><tspan ` +
        `font-weight="600">${e.n}</tspan>  ${esc(e.date)}  ${esc(e.label)}</text>`);
    });
    return {svg: out.join(""), height: rows * 16};
  }

  // The chart as an SVG document string, `width` px wide. With `title`, a title, a key of the
  // symbols and of the events are drawn in it too (the downloadable figure).
  function svg(data, width, opts = {}) {
    const narrow = width < 600;
    const L = layout(data, width, narrow);
    const head = opts.title ? 28 : 0;
    let body = stripsSVG(L) + L.panels.map((p) => panelSVG(p, L, data)).join("") + axisSVG(L);
    let height = L.height;
    if (opts.title) {
      const lines = wrap(opts.legend, width - LEFT - 10, 11, false);
      lines.forEach((line, k) => {
        body += `<text x="${LEFT}" y="${height + 4 + k * 14}" font-size="11" fill="#444">` +
          `${esc(line)}</text>`;
      });
      const key = keySVG(L, height + 8 + lines.length * 14, width);
      body += key.svg;
      height += key.height + 12 + lines.length * 14;
    }
    const title = opts.title ? `<text x="8" y="19" font-size="15" font-weight="600" ` +
      `fill="#1d2430">${esc(opts.title)}</text>` : "";
    return `<svg xmlns="http://www.w3.org/2000/svg" id="${opts.id || "tempo-figure"}" ` +
      `width="${width}" height="${r1(height + head)}" viewBox="0 0 ${width} ` +
      `${r1(height + head)}" font-family="${FONT}" role="img" aria-label="Monthly attack ` +
      `tempo, simulated against the historical record"><rect width="100%" ` +
      `height="100%" fill="#fff"/>${title}<g transform="translate(0,${head})">${body}</g></svg>`;
  }

  // ------------------------------------------------------------------ on the page

  const LEGEND = [
    ["line", SIM, "simulated median"], ["band", SIM, "simulated 90% band"],
    ["line", REC, "reported figure (monthly average)"], ["band", REC, "reported range"],
    ["up", REC, "reported 'at least'"], ["down", REC, "reported 'at most'"],
    ["star", REC, "reported peak month"], ["event", EVENT, "event (numbered below)"],
  ];
  const GLYPH = {line: "&#9473;", band: "&#9646;", up: "&#9650;", down: "&#9660;",
    star: "&#9733;", event: "&#9312;"};

  function legendHTML(data) {
    return LEGEND.filter(([kind, colour]) => colour !== REC || data.panels.some((p) =>
      p.record.length)).map(([kind, colour, label]) => `<span class="key"><span ` +
      `class="glyph ${kind}" style="color:${colour}">${GLYPH[kind]}</span>` +
      `${esc(label === "simulated median" ? `${label} (${data.runs} runs)` : label)}</span>`)
      .join("");
  }

  function legendText(data) {
    return `Blue: simulated median and 90% band of ${data.runs} runs. Red: figures reported ` +
      "in the sources (line = monthly average, box = range, triangles = at least / at most, " +
      "star = peak month). Numbered: the scenario's events.";
  }

  // Draw the chart of `data` into `box` (replacing what it held), with its key of events and
  // the hover and tap explanations.
  function mount(box, data, job) {
    const width = Math.max(Math.floor(box.clientWidth), 280);
    const L = layout(data, width, width < 600);
    box.innerHTML = `<div class="tempo-legend">${legendHTML(data)}</div>` +
      `<div class="chart-wrap">${svg(data, width, {id: "tempo-svg"})}` +
      `<div class="tip" role="status" hidden></div></div>` +
      `<ol class="event-key" id="event-key">${L.events.map((e) => `<li data-event="${e.n}" ` +
      `tabindex="0"><b>${e.n}</b> <span class="date">${esc(e.date)}</span> ` +
      `${esc(e.label)}</li>`).join("")}</ol>`;
    const chart = box.querySelector("#tempo-svg"), tip = box.querySelector(".tip");
    chart.dataset.job = job;
    const wrap = box.querySelector(".chart-wrap");
    const cross = document.createElementNS("http://www.w3.org/2000/svg", "line");
    cross.setAttribute("class", "crosshair");
    chart.appendChild(cross);

    function show(html, px, py) {
      tip.innerHTML = html;
      tip.hidden = false;
      const w = tip.offsetWidth, h = tip.offsetHeight;
      let left = px + 12, top = py + 14;
      if (left + w > wrap.clientWidth) left = Math.max(0, px - w - 12);
      if (top + h > wrap.clientHeight) top = Math.max(0, py - h - 10);
      tip.style.left = left + "px";
      tip.style.top = top + "px";
    }
    function highlight(n) {
      for (const el of box.querySelectorAll("[data-event]")) {
        el.classList.toggle("lit", n !== null && el.dataset.event === String(n));
      }
    }
    function hide() {
      tip.hidden = true;
      cross.style.display = "none";
      highlight(null);
    }
    function explain(target, px, py) {
      const badge = target.closest && target.closest("[data-event]");
      if (badge && chart.contains(badge)) {
        const e = L.events[Number(badge.dataset.event) - 1];
        highlight(e.n);
        cross.style.display = "none";
        return show(`<b>${e.n}. ${esc(e.date)}</b><br>${esc(e.label)}`, px, py);
      }
      highlight(null);
      const rec = target.closest && target.closest(".rec");
      if (rec) {
        const f = data.panels[Number(rec.dataset.panel)].record[Number(rec.dataset.fig)];
        cross.style.display = "none";
        return show(esc(f.text), px, py);
      }
      const phase = target.closest && target.closest("[data-phase]");
      if (phase) {
        const p = L.phases[Number(phase.dataset.phase)];
        cross.style.display = "none";
        return show(`<b>${esc(p.label)}</b><br>${esc(p.start)} to ${esc(p.end)}`, px, py);
      }
      monthAt(px, py);
    }
    function monthAt(px, py) {
      const panel = L.panels.find((p) => py >= p.y0 && py <= p.y0 + p.h);
      if (!panel || px < LEFT || px > LEFT + L.plotW) return hide();
      let best = 0, dist = Infinity;
      panel.months.forEach((m, i) => {
        const d = Math.abs(L.x(m + "-15") - px);
        if (d < dist) { dist = d; best = i; }
      });
      const xx = r1(L.x(panel.months[best] + "-15"));
      for (const [k, v] of [["x1", xx], ["x2", xx], ["y1", L.panels[0].y0], ["y2", L.bottom]]) {
        cross.setAttribute(k, v);
      }
      cross.style.display = "";
      show(`<b>${esc(panel.title)}</b><br>${monthName(panel.months[best])}: median ` +
        `${panel.median[best]}, 90% band ${panel.low[best]} to ${panel.high[best]}`, px, py);
    }
    const at = (ev) => {
      const r = chart.getBoundingClientRect();
      return [ev.clientX - r.left, ev.clientY - r.top];
    };
    chart.addEventListener("pointermove", (ev) => explain(ev.target, ...at(ev)));
    chart.addEventListener("pointerdown", (ev) => explain(ev.target, ...at(ev)));
    chart.addEventListener("pointerleave", (ev) => { if (ev.pointerType === "mouse") hide(); });
    chart.addEventListener("focusin", (ev) => {
      const r = ev.target.getBoundingClientRect(), c = chart.getBoundingClientRect();
      explain(ev.target, r.left - c.left + r.width / 2, r.top - c.top + r.height);
    });
    chart.addEventListener("focusout", hide);
    for (const li of box.querySelectorAll("#event-key li")) {
      const on = () => highlight(Number(li.dataset.event));
      li.addEventListener("pointerenter", on);
      li.addEventListener("focus", on);
      li.addEventListener("click", on);
      li.addEventListener("pointerleave", () => highlight(null));
      li.addEventListener("blur", () => highlight(null));
    }
  }

  // The chart as a file: 1,100 px wide, with a title and its keys.
  function figure(data, title) {
    return svg(data, 1100, {title, legend: legendText(data)});
  }

  return {svg, mount, figure, layout};
})();
