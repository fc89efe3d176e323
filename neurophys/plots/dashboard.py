"""Document 002's dashboard as ONE self-contained HTML file (works offline, no CDN).

The document's dashboard loads React, Recharts, KaTeX and Tailwind from CDNs.
This one is a single file: the data sit inline as JSON, the drawing is plain
JavaScript on <canvas>, the equations are MathML typeset when the file is written
(:mod:`neurophys.site.mathtext`, latex2mathml; browsers draw MathML natively).
Four views, for the system picked at the top:

1. Trajectory viewer  true vs predicted (reconstructed) trajectories, animated
2. Energy monitor     true E(t) vs the model's energy, with violations flagged
3. Latent space       the 2-D PCA of the latent codes, coloured by true energy
4. Discovered laws    the symbolic-regression table and the label-free invariants

Hovering a plot shows the nearest data point (time, values) in a read-out beside
the pointer. Each view, once drawn, sets ``data-rendered="yes"`` on its <section>;
the render log and any script error go to a hidden ``#diagnostics`` block (and
errors to the browser console), not onto the page. The axes are laid out from the
measured width of their tick labels, and the boxes of every label are kept in
``window.DASHBOARD_LAYOUT`` so a test can check that none overlap.

    write_dashboard("dashboard.html", systems={"orbit": {...}, ...}, title="...")

The per-system dict (lists or arrays; missing parts show a note instead):
``state_names``, ``t`` (T,), ``states_true`` (n, T, D), ``states_pred`` (n, T, D)
or None, ``energy_true`` (n, T), ``energy_pred`` (n, T) or None, ``energy_label``
(str), ``pca`` (m, 2) or None, ``pca_energy`` (m,), ``pca_explained`` (2,),
``equations`` (list of dicts: quantity, the law as ``law`` — an expression tree of
:mod:`neurophys.symbolic` — or ``law_latex`` (LaTeX) or ``law_html`` (HTML, shown as
given), r2, coef_error, complexity, claimed), ``conserved`` (list of dicts: ``law``
/ ``latex`` / ``html``, drift), ``notes`` (list of plain-text str; a Python
exception quoted in a note is moved to the hidden diagnostics), ``diagnostics``
(list of str, hidden).
"""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
from ..site.mathtext import expr_to_latex, latex_to_mathml

VIEWS = ("trajectory", "energy", "latent", "equations")


def _clean(obj, digits: int = 5):
    """JSON-safe: arrays -> nested lists rounded to ``digits`` significant digits, NaN -> None."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v, digits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)) and not (obj and isinstance(obj[0], (int, float, np.number))):
        return [_clean(v, digits) for v in obj]
    if isinstance(obj, str):
        return obj
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    a = np.asarray(obj)
    if a.dtype.kind in "US":
        return a.tolist()
    a = a.astype(float)
    if a.ndim == 0:
        v = float(a)
        return float(f"{v:.{digits}g}") if math.isfinite(v) else None
    flat = [float(f"{v:.{digits}g}") if math.isfinite(v) else None for v in a.ravel()]
    return np.array(flat, dtype=object).reshape(a.shape).tolist()


def check_system_data(name: str, d: dict) -> dict:
    """Validate one system's data (shapes agree); raises ValueError saying what is wrong."""
    if "states_true" not in d or "t" not in d or "state_names" not in d:
        raise ValueError(f"dashboard data for {name!r} needs at least 't', 'state_names' and 'states_true'")
    S = np.asarray(d["states_true"], float)
    t = np.asarray(d["t"], float)
    D = len(d["state_names"])
    if S.ndim != 3 or S.shape[1] != t.shape[0] or S.shape[2] != D:
        raise ValueError(f"{name}: states_true must be (n, T={t.shape[0]}, D={D}), got {S.shape}")
    if d.get("states_pred") is not None and np.asarray(d["states_pred"]).shape != S.shape:
        raise ValueError(f"{name}: states_pred must have the shape of states_true {S.shape}")
    for key in ("energy_true", "energy_pred"):
        if d.get(key) is not None and np.asarray(d[key]).shape != S.shape[:2]:
            raise ValueError(f"{name}: {key} must be (n, T) = {S.shape[:2]}, got {np.asarray(d[key]).shape}")
    if d.get("pca") is not None:
        P = np.asarray(d["pca"])
        if P.ndim != 2 or P.shape[1] != 2:
            raise ValueError(f"{name}: pca must be (m, 2), got {P.shape}")
        if d.get("pca_energy") is not None and np.asarray(d["pca_energy"]).shape != (P.shape[0],):
            raise ValueError(f"{name}: pca_energy must be (m,) = ({P.shape[0]},)")
    return d


def write_dashboard(path, systems: dict, title: str = "NeurophysicsLab dashboard", subtitle: str = "") -> Path:
    """Write the self-contained dashboard HTML and return its path."""
    if not systems:
        raise ValueError("write_dashboard needs data for at least one system")
    data = {name: _clean(_typeset(check_system_data(name, d))) for name, d in systems.items()}
    payload = json.dumps({"title": title, "subtitle": subtitle, "systems": data}, allow_nan=False,
                         separators=(",", ":"))
    payload = payload.replace("</", "<\\/")  # never close the <script> early
    html = _TEMPLATE.replace("__TITLE__", _esc(title)).replace("__SUBTITLE__", _esc(subtitle))
    html = html.replace("__DATA__", payload).replace("__SCRIPT__", _SCRIPT)
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path


_EXCEPTION = re.compile(r"\s*\((?:[A-Za-z_][\w.]*)?(?:Error|Exception|Warning)\b[^()]*\)"
                        r"|\b[A-Z]\w*(?:Error|Exception)\b:[^;()]*")


def _law_mathml(entry: dict, tree_key: str = "law", latex_key: str = "law_latex", html_key: str = "law_html"):
    """(MathML or HTML for the law, its LaTeX or None)."""
    latex = None
    if entry.get(tree_key) is not None and not isinstance(entry.get(tree_key), str):
        latex = expr_to_latex(entry[tree_key])
    elif entry.get(latex_key):
        latex = str(entry[latex_key])
    if latex is not None:
        return latex_to_mathml(r"\displaystyle " + latex), latex
    return entry.get(html_key) or "", None


def split_diagnostics(note: str) -> tuple:
    """(note without the quoted Python exception, [the exception text]) for a plain-text note."""
    found = [m.group(0).strip() for m in _EXCEPTION.finditer(note)]
    clean = _EXCEPTION.sub("", note).replace(" ;", ";").replace(": ;", ";")
    return re.sub(r"\s{2,}", " ", clean).strip(), found


def _note_html(text: str) -> str:
    """Plain text -> HTML: escaped, `code` set as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _esc(str(text)))


def _typeset(d: dict) -> dict:
    """A copy of one system's data with its laws as MathML and its notes cleaned for display."""
    d = dict(d)
    eqs = []
    for e in d.get("equations") or []:
        e = dict(e)
        e["law_mathml"], e["law_latex"] = _law_mathml(e)
        e.pop("law", None)
        e.pop("law_html", None)
        eqs.append(e)
    d["equations"] = eqs
    cons = []
    for q in d.get("conserved") or []:
        q = dict(q)
        tree = q.pop("law", None)
        if tree is None and not isinstance(q.get("expr"), (str, type(None))):
            tree = q.pop("expr")
        q["law_mathml"], q["latex"] = _law_mathml({"law": tree, "law_latex": q.get("latex"), "law_html": q.get("html")})
        q.pop("html", None)
        q.pop("expr", None)
        cons.append(q)
    d["conserved"] = cons
    notes, diags = [], [str(x) for x in d.get("diagnostics") or []]
    for n in d.get("notes") or []:
        text, found = split_diagnostics(str(n))
        notes.append(_note_html(text))
        diags += found
    d["notes"], d["diagnostics"] = notes, diags
    for key in ("pred_note", "energy_note", "latent_note"):
        if d.get(key):
            text, found = split_diagnostics(str(d[key]))
            d[key], d["diagnostics"] = _note_html(text), d["diagnostics"] + found
    return d


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<link rel="icon" href="data:,">
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{padding:14px 22px;background:#1d2330;color:#fff}
header h1{margin:0;font-size:20px} header p{margin:4px 0 0;color:#c9cfdb;font-size:13px}
.controls{padding:10px 22px;display:flex;gap:18px;align-items:center;flex-wrap:wrap;font-size:14px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px;padding:0 22px 22px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:12px 14px;position:relative;
        min-width:0}
section h2{margin:0 0 8px;font-size:16px}
.plot{position:relative}
canvas{display:block;width:100%;height:auto;border:1px solid #e3e6eb;border-radius:4px;background:#fff;cursor:crosshair}
.readout{position:absolute;pointer-events:none;background:rgba(29,35,48,.92);color:#fff;font-size:12px;line-height:1.35;
         padding:4px 7px;border-radius:4px;white-space:pre;z-index:2;display:none}
.note{color:#8a5300;background:#fff6e5;padding:6px 8px;border-radius:4px;font-size:13px;margin:6px 0}
table{border-collapse:collapse;font-size:13px;width:100%} td,th{border-bottom:1px solid #e3e6eb;padding:5px 6px;text-align:left;
      vertical-align:middle}
td.law{font-size:15px;min-width:12em} td.law math{font-size:1.05em}
.ok{color:#137333;font-weight:600} .bad{color:#b3261e;font-weight:600} .legend{font-size:12px;color:#555;margin-top:4px}
ul.laws li{margin:6px 0;font-size:15px}
#equations{overflow-x:auto}
#view-equations{grid-column:1/-1}
td.quantity{max-width:16em}
.hint{font-size:12px;color:#777;margin:0 22px 14px}
#diagnostics{display:none}
</style></head>
<body>
<header><h1>__TITLE__</h1><p>__SUBTITLE__</p></header>
<div class="controls">
<label>System <select id="system"></select></label>
<label>Trajectory <select id="traj"></select></label>
<label><input type="checkbox" id="animate" checked> animate</label>
<span class="legend">Hover a plot for the values under the pointer.</span>
</div>
<main>
<section id="view-trajectory" data-view="trajectory" data-rendered="no"><h2>1. Trajectory viewer &mdash; true vs predicted</h2>
<div class="plot"><canvas id="c-traj" width="640" height="380" aria-label="trajectory plot"></canvas><div class="readout" id="r-traj"></div></div>
<div class="legend" id="legend-traj"></div><div id="note-traj"></div></section>
<section id="view-energy" data-view="energy" data-rendered="no"><h2>2. Energy monitor</h2>
<div class="plot"><canvas id="c-energy" width="640" height="380" aria-label="energy plot"></canvas><div class="readout" id="r-energy"></div></div>
<div class="legend" id="legend-energy"></div><div id="note-energy"></div></section>
<section id="view-latent" data-view="latent" data-rendered="no"><h2>3. Latent-space explorer (PCA)</h2>
<div class="plot"><canvas id="c-latent" width="640" height="380" aria-label="latent-space plot"></canvas><div class="readout" id="r-latent"></div></div>
<div class="legend" id="legend-latent"></div><div id="note-latent"></div></section>
<section id="view-equations" data-view="equations" data-rendered="no"><h2>4. Discovered equations</h2>
<div id="equations"></div></section>
</main>
<div id="diagnostics" hidden><div id="render-log"></div><div id="errors"></div><div id="notes-diagnostics"></div></div>
<script type="application/json" id="dashboard-data">__DATA__</script>
<script>
__SCRIPT__
</script>
</body></html>
"""

_SCRIPT = r"""
"use strict";
window.onerror = function (msg, src, line) {
  document.getElementById("errors").textContent += "error: " + msg + " (line " + line + ")\n";
};
var DATA = JSON.parse(document.getElementById("dashboard-data").textContent);
var names = Object.keys(DATA.systems);
var state = {system: names[0], traj: 0, frame: 0};
var COLORS = {truth: "#1d2330", pred: "#d9480f", pred2: "#1c7ed6", bad: "#e03131"};
var HOVER = {};                       // canvas id -> [{x, y, text}] in canvas pixels
window.DASHBOARD_LAYOUT = {};         // canvas id -> label boxes (what the layout test reads)

function marked(view) {
  var s = document.getElementById("view-" + view);
  s.setAttribute("data-rendered", "yes");
  var log = document.getElementById("render-log");
  if (log.textContent.indexOf("rendered " + view + " ") < 0) log.textContent += "rendered " + view + " \n";
}
function note(id, html) { document.getElementById(id).innerHTML = html ? '<div class="note">' + html + '</div>' : ""; }
function finite(v) { return v !== null && v !== undefined && isFinite(v); }
function fmtv(v) { return finite(v) ? Number(v).toPrecision(4) : "–"; }
function range(arrs) {
  var lo = Infinity, hi = -Infinity;
  arrs.forEach(function (a) { a.forEach(function (v) { if (finite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }); });
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) { lo -= 0.5; hi += 0.5; }
  var pad = 0.06 * (hi - lo); return [lo - pad, hi + pad];
}
function niceTicks(lo, hi) {           // about 5 round numbers inside [lo, hi]
  var span = hi - lo, step = Math.pow(10, Math.floor(Math.log10(span / 5))), err = span / 5 / step;
  if (err >= 7.5) step *= 10; else if (err >= 3.5) step *= 5; else if (err >= 1.5) step *= 2;
  var out = [], v = Math.ceil(lo / step) * step;
  for (; v <= hi + 1e-9 * step; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return {values: out, step: step};
}
function tickText(v, step) {
  var a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1).replace("e", "e");
  var dec = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(Math.min(dec, 6));
}
function box(x, y, w, h) { return {x: x, y: y, w: w, h: h}; }
// Axes whose margins fit their tick labels: nothing overlaps (labels' boxes are recorded).
function axes(canvas, xr, yr, xl, yl) {
  var ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H); ctx.font = "12px sans-serif"; ctx.textBaseline = "middle";
  var xt = niceTicks(xr[0], xr[1]), yt = niceTicks(yr[0], yr[1]);
  var ylabels = yt.values.map(function (v) { return tickText(v, yt.step); });
  var tw = Math.max.apply(null, ylabels.map(function (s) { return ctx.measureText(s).width; }).concat([10]));
  var m = {l: Math.ceil(tw) + 6 + 8 + 16 + 6, r: 16, t: 12, b: 46};
  var pw = W - m.l - m.r, ph = H - m.t - m.b, L = {ticks: [], xlabel: null, ylabel: null, plot: box(m.l, m.t, pw, ph)};
  function P(x, y) { return [m.l + (x - xr[0]) / (xr[1] - xr[0]) * pw, H - m.b - (y - yr[0]) / (yr[1] - yr[0]) * ph]; }
  ctx.strokeStyle = "#eef0f3"; ctx.lineWidth = 1; ctx.fillStyle = "#333";
  ctx.textAlign = "right";
  yt.values.forEach(function (v, i) {
    var py = P(xr[0], v)[1]; if (py < m.t - 0.5 || py > H - m.b + 0.5) return;
    ctx.beginPath(); ctx.moveTo(m.l, py); ctx.lineTo(m.l + pw, py); ctx.stroke();
    var s = ylabels[i], w = ctx.measureText(s).width;
    ctx.fillText(s, m.l - 6, py); L.ticks.push(box(m.l - 6 - w, py - 7, w, 14));
  });
  ctx.textAlign = "center";
  var last = -Infinity;
  xt.values.forEach(function (v) {
    var px = P(v, yr[0])[0]; if (px < m.l - 0.5 || px > m.l + pw + 0.5) return;
    var s = tickText(v, xt.step), w = ctx.measureText(s).width;
    ctx.beginPath(); ctx.moveTo(px, m.t); ctx.lineTo(px, m.t + ph); ctx.stroke();
    if (px - w / 2 < last + 6) return;            // never print two x labels on top of each other
    ctx.fillText(s, px, H - m.b + 13); L.ticks.push(box(px - w / 2, H - m.b + 6, w, 14)); last = px + w / 2;
  });
  ctx.strokeStyle = "#999"; ctx.strokeRect(m.l, m.t, pw, ph);
  ctx.font = "13px sans-serif"; ctx.fillStyle = "#1d2330";
  var xw = ctx.measureText(xl).width, yw = ctx.measureText(yl).width;
  ctx.fillText(xl, m.l + pw / 2, H - 12); L.xlabel = box(m.l + pw / 2 - xw / 2, H - 19, xw, 15);
  ctx.save(); ctx.translate(12, m.t + ph / 2); ctx.rotate(-Math.PI / 2); ctx.fillText(yl, 0, 0); ctx.restore();
  L.ylabel = box(4, m.t + ph / 2 - yw / 2, 16, yw);
  ctx.textAlign = "left"; ctx.textBaseline = "alphabetic";
  window.DASHBOARD_LAYOUT[canvas.id] = L;
  return P;
}
function line(ctx, P, xs, ys, color, dash, width, upto) {
  ctx.strokeStyle = color; ctx.lineWidth = width || 2; ctx.setLineDash(dash || []); ctx.beginPath();
  var n = upto === undefined ? xs.length : Math.min(upto + 1, xs.length), started = false;
  for (var i = 0; i < n; i++) {
    if (!finite(xs[i]) || !finite(ys[i])) { started = false; continue; }
    var p = P(xs[i], ys[i]); if (!started) { ctx.moveTo(p[0], p[1]); started = true; } else ctx.lineTo(p[0], p[1]);
  }
  ctx.stroke(); ctx.setLineDash([]);
}
function dot(ctx, P, x, y, color, r) {
  if (!finite(x) || !finite(y)) return; var p = P(x, y);
  ctx.fillStyle = color; ctx.beginPath(); ctx.arc(p[0], p[1], r || 4, 0, 2 * Math.PI); ctx.fill();
}
function col(S, k, j) { return S[k].map(function (row) { return row[j]; }); }
function hoverPoints(id, P, xs, ys, text) {
  var pts = [];
  for (var i = 0; i < xs.length; i++) if (finite(xs[i]) && finite(ys[i])) {
    var p = P(xs[i], ys[i]); pts.push({x: p[0], y: p[1], text: text(i)});
  }
  return pts;
}

// ---------------------------------------------------------------- hover read-outs
function attachHover(view, id) {
  var c = document.getElementById(id), r = document.getElementById("r-" + view);
  c.addEventListener("mousemove", function (ev) {
    var rect = c.getBoundingClientRect(), sx = c.width / rect.width, sy = c.height / rect.height;
    var mx = (ev.clientX - rect.left) * sx, my = (ev.clientY - rect.top) * sy, best = null, bd = 30 * sx;
    (HOVER[id] || []).forEach(function (p) { var d = Math.hypot(p.x - mx, p.y - my); if (d < bd) { bd = d; best = p; } });
    if (!best) { r.style.display = "none"; c.title = ""; return; }
    r.textContent = best.text; r.style.display = "block";
    var left = best.x / sx + 12, top = best.y / sy + 12;
    if (left + r.offsetWidth > rect.width) left = best.x / sx - r.offsetWidth - 12;
    if (top + r.offsetHeight > rect.height) top = best.y / sy - r.offsetHeight - 12;
    r.style.left = left + "px"; r.style.top = top + "px"; c.title = best.text;
  });
  c.addEventListener("mouseleave", function () { r.style.display = "none"; });
}

// ---------------------------------------------------------------- 1. trajectories
function drawTrajectory() {
  var d = DATA.systems[state.system], c = document.getElementById("c-traj"), ctx = c.getContext("2d");
  var S = d.states_true, Pd = d.states_pred, k = Math.min(state.traj, S.length - 1), nm = d.state_names;
  var planar = nm.length >= 4;   // (x, y, vx, vy): draw the path; 1-D: the phase portrait (x, v)
  var ix = 0, iy = 1;
  var xs = col(S, k, ix), ys = col(S, k, iy), arrs = [xs], brr = [ys], xp = null, yp = null;
  if (Pd) { xp = col(Pd, k, ix); yp = col(Pd, k, iy); arrs.push(xp); brr.push(yp); }
  var P = axes(c, range(arrs), range(brr), nm[ix], nm[iy]);
  var f = document.getElementById("animate").checked ? state.frame % xs.length : xs.length - 1;
  line(ctx, P, xs, ys, "#c5cad3", [], 1);
  line(ctx, P, xs, ys, COLORS.truth, [], 2, f);
  if (Pd) { line(ctx, P, xp, yp, COLORS.pred, [6, 4], 2, f); dot(ctx, P, xp[f], yp[f], COLORS.pred, 4); }
  dot(ctx, P, xs[f], ys[f], COLORS.truth, 5);
  var pts = hoverPoints("c-traj", P, xs, ys, function (i) {
    return "true   t = " + fmtv(d.t[i]) + "\n" + nm[ix] + " = " + fmtv(xs[i]) + ", " + nm[iy] + " = " + fmtv(ys[i]); });
  if (Pd) pts = pts.concat(hoverPoints("c-traj", P, xp, yp, function (i) {
    return "predicted   t = " + fmtv(d.t[i]) + "\n" + nm[ix] + " = " + fmtv(xp[i]) + ", " + nm[iy] + " = " + fmtv(yp[i]); }));
  HOVER["c-traj"] = pts;
  document.getElementById("legend-traj").innerHTML = "<b>&mdash;</b> true (simulated) &nbsp; <span style='color:" +
    COLORS.pred + "'><b>- -</b> predicted (decoder reconstruction)</span> &nbsp; t = " + fmtv(d.t[f]) +
    (planar ? "" : " &nbsp; (1-D system: phase portrait x vs v)");
  note("note-traj", Pd ? (d.pred_note || "") : "No model prediction for this system: run lesson 11 first.");
  marked("trajectory");
}

// ---------------------------------------------------------------- 2. energy
function drawEnergy() {
  var d = DATA.systems[state.system], c = document.getElementById("c-energy"), ctx = c.getContext("2d");
  var k = Math.min(state.traj, d.energy_true.length - 1), Et = d.energy_true[k], Ep = d.energy_pred ? d.energy_pred[k] : null;
  var arrs = [Et]; if (Ep) arrs.push(Ep);
  var P = axes(c, [d.t[0], d.t[d.t.length - 1]], range(arrs), "time t", "energy E");
  line(ctx, P, d.t, Et, COLORS.truth, [], 2);
  var viol = 0, tol = d.violation_tol || 0.05, scale = Math.max.apply(null, Et.map(Math.abs)) || 1;
  if (Ep) {
    line(ctx, P, d.t, Ep, COLORS.pred, [6, 4], 2);
    var E0 = Ep[0];
    for (var i = 0; i < Ep.length; i++) {
      if (finite(Ep[i]) && Math.abs(Ep[i] - E0) > tol * scale) { dot(ctx, P, d.t[i], Ep[i], COLORS.bad, 3); viol++; }
    }
  }
  var tip = function (i) { return "t = " + fmtv(d.t[i]) + "\ntrue E = " + fmtv(Et[i]) +
    (Ep ? "\nmodel E = " + fmtv(Ep[i]) + "  (drift " + fmtv(Ep[i] - Ep[0]) + ")" : ""); };
  var pts = hoverPoints("c-energy", P, d.t, Et, tip);
  if (Ep) pts = pts.concat(hoverPoints("c-energy", P, d.t, Ep, tip));
  HOVER["c-energy"] = pts;
  document.getElementById("legend-energy").innerHTML = "<b>&mdash;</b> true E(t) &nbsp; <span style='color:" + COLORS.pred +
    "'><b>- -</b> " + (d.energy_label || "model energy") + "</span> &nbsp; <span class='" + (viol ? "bad" : "ok") + "'>" +
    viol + " violation(s)</span> (|E&#770;(t) &minus; E&#770;(0)| &gt; " + (100 * tol).toFixed(0) + "% of |E|)";
  note("note-energy", Ep ? (d.energy_note || "") : "No model energy for this system: run lesson 11 first.");
  marked("energy");
}

// ---------------------------------------------------------------- 3. latent space
function viridis(u) {
  var stops = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
  u = Math.max(0, Math.min(1, u)) * (stops.length - 1); var i = Math.min(Math.floor(u), stops.length - 2), f = u - i;
  var a = stops[i], b = stops[i + 1];
  return "rgb(" + [0, 1, 2].map(function (j) { return Math.round(a[j] + f * (b[j] - a[j])); }).join(",") + ")";
}
function drawLatent() {
  var d = DATA.systems[state.system], c = document.getElementById("c-latent"), ctx = c.getContext("2d");
  if (!d.pca) {
    ctx.clearRect(0, 0, c.width, c.height); ctx.fillStyle = "#555"; ctx.font = "15px sans-serif";
    ctx.fillText("No latent codes for this system: run lesson 11 first.", 40, c.height / 2);
    HOVER["c-latent"] = []; delete window.DASHBOARD_LAYOUT["c-latent"];
    note("note-latent", "No latent codes: run lesson 11 first."); marked("latent"); return;
  }
  var xs = d.pca.map(function (p) { return p[0]; }), ys = d.pca.map(function (p) { return p[1]; });
  var ex = d.pca_explained || [null, null];
  var P = axes(c, range([xs]), range([ys]),
    "PC1" + (finite(ex[0]) ? " (" + (100 * ex[0]).toFixed(0) + "% of variance)" : ""),
    "PC2" + (finite(ex[1]) ? " (" + (100 * ex[1]).toFixed(0) + "%)" : ""));
  var E = d.pca_energy || xs.map(function () { return 0; }), er = range([E]);
  for (var i = 0; i < xs.length; i++) dot(ctx, P, xs[i], ys[i], viridis((E[i] - er[0]) / (er[1] - er[0])), 3);
  HOVER["c-latent"] = hoverPoints("c-latent", P, xs, ys, function (i) {
    return "trajectory #" + (i + 1) + "\nPC1 = " + fmtv(xs[i]) + ", PC2 = " + fmtv(ys[i]) + "\ntrue energy = " + fmtv(E[i]); });
  document.getElementById("legend-latent").innerHTML = "colour: true energy from " + fmtv(er[0]) +
    " (dark) to " + fmtv(er[1]) + " (yellow); " + xs.length + " trajectories";
  note("note-latent", d.latent_note || "");
  marked("latent");
}

// ---------------------------------------------------------------- 4. equations
function fmt(v, p) { return finite(v) ? Number(v).toPrecision(p || 4) : "&ndash;"; }
function esc(s) { return String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }
function drawEquations() {
  var d = DATA.systems[state.system], h = "";
  if (d.equations && d.equations.length) {
    h += "<table><tr><th>quantity</th><th>discovered law</th><th>R&sup2;</th><th>coef. error</th><th>complexity</th><th>document claims</th></tr>";
    d.equations.forEach(function (e) {
      var ok = e.r2 >= 0.999 && e.coef_error <= 0.02;
      var title = e.law_latex ? " title='" + esc(e.law_latex).replace(/'/g, "&#39;") + "'" : "";
      h += "<tr><td class='quantity'>" + esc(e.quantity) + "</td><td class='law'" + title + ">" + e.law_mathml + "</td><td class='" + (e.r2 >= 0.999 ? "ok" : "bad") + "'>" +
        fmt(e.r2, 6) + "</td><td class='" + (ok ? "ok" : "bad") + "'>" + (finite(e.coef_error) ? (e.coef_error < 1e-5 ? "&lt;0.001%" : (100 * e.coef_error).toPrecision(2) + "%") : "structure differs") +
        "</td><td>" + (e.complexity || "") + "</td><td>" + esc(e.claimed || "") + "</td></tr>";
    });
    h += "</table>";
  } else h += "<div class='note'>No symbolic-regression results for this system.</div>";
  if (d.conserved && d.conserved.length) {
    h += "<h3 style='font-size:14px'>Found without labels (constant along each trajectory, different between trajectories)</h3><ul class='laws'>";
    d.conserved.forEach(function (q) { h += "<li>" + q.law_mathml + " &nbsp; <span class='legend'>drift " + fmt(q.drift, 2) + "</span></li>"; });
    h += "</ul>";
  }
  (d.notes || []).forEach(function (n) { h += "<div class='note'>" + n + "</div>"; });
  document.getElementById("equations").innerHTML = h;
  document.getElementById("notes-diagnostics").textContent = (d.diagnostics || []).join("\n");
  marked("equations");
}

// ---------------------------------------------------------------- wiring
function drawAll() {
  [drawTrajectory, drawEnergy, drawLatent, drawEquations].forEach(function (f) {
    try { f(); } catch (err) {
      document.getElementById("errors").textContent += "error in " + f.name + ": " + err + "\n";
      console.error("dashboard: error in " + f.name + ": " + err);
    }
  });
}
function fillTraj() {
  var sel = document.getElementById("traj"), n = DATA.systems[state.system].states_true.length; sel.innerHTML = "";
  for (var i = 0; i < n; i++) { var o = document.createElement("option"); o.value = i; o.textContent = "#" + (i + 1); sel.appendChild(o); }
  state.traj = 0;
}
(function init() {
  var sel = document.getElementById("system");
  names.forEach(function (n) { var o = document.createElement("option"); o.value = n; o.textContent = n; sel.appendChild(o); });
  sel.onchange = function () { state.system = sel.value; fillTraj(); state.frame = 0; drawAll(); };
  document.getElementById("traj").onchange = function (e) { state.traj = +e.target.value; state.frame = 0; drawAll(); };
  document.getElementById("animate").onchange = drawTrajectory;
  attachHover("traj", "c-traj"); attachHover("energy", "c-energy"); attachHover("latent", "c-latent");
  fillTraj(); drawAll();
  setInterval(function () { if (document.getElementById("animate").checked) { state.frame++; drawTrajectory(); } }, 60);
})();
"""
