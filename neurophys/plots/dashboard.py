"""Document 002's dashboard as ONE self-contained HTML file (works offline, no CDN).

The document's dashboard loads React, Recharts, KaTeX and Tailwind from CDNs.
This one is a single file: the data sit inline as JSON, the drawing is plain
JavaScript on <canvas>, the equations are HTML (<sup>, √). Four views, for the
system picked at the top:

1. Trajectory viewer  true vs predicted (reconstructed) trajectories, animated
2. Energy monitor     true E(t) vs the model's energy, with violations flagged
3. Latent space       the 2-D PCA of the latent codes, coloured by true energy
4. Discovered laws    the symbolic-regression table and the label-free invariants

Each view, once drawn, sets ``data-rendered="yes"`` on its <section> and adds a
line to ``#render-log``; script errors are written into ``#errors``. A headless
browser's DOM dump shows both (what tests/test_dashboard.py checks).

    write_dashboard("dashboard.html", systems={"orbit": {...}, ...}, title="...")

The per-system dict (lists or arrays; missing parts show a note instead):
``state_names``, ``t`` (T,), ``states_true`` (n, T, D), ``states_pred`` (n, T, D)
or None, ``energy_true`` (n, T), ``energy_pred`` (n, T) or None, ``energy_label``
(str), ``pca`` (m, 2) or None, ``pca_energy`` (m,), ``pca_explained`` (2,),
``equations`` (list of dicts: quantity, law_html, r2, coef_error, complexity,
claimed), ``conserved`` (list of dicts: html, drift), ``notes`` (list of str).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

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
    data = {name: _clean(check_system_data(name, d)) for name, d in systems.items()}
    payload = json.dumps({"title": title, "subtitle": subtitle, "systems": data}, allow_nan=False,
                         separators=(",", ":"))
    payload = payload.replace("</", "<\\/")  # never close the <script> early
    html = _TEMPLATE.replace("__TITLE__", _esc(title)).replace("__SUBTITLE__", _esc(subtitle))
    html = html.replace("__DATA__", payload).replace("__SCRIPT__", _SCRIPT)
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
header{padding:14px 22px;background:#1d2330;color:#fff}
header h1{margin:0;font-size:20px} header p{margin:4px 0 0;color:#c9cfdb;font-size:13px}
.controls{padding:10px 22px;display:flex;gap:18px;align-items:center;flex-wrap:wrap;font-size:14px}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:14px;padding:0 22px 22px}
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:12px 14px}
section h2{margin:0 0 8px;font-size:16px}
canvas{width:100%;height:auto;border:1px solid #e3e6eb;border-radius:4px;background:#fff}
.note{color:#8a5300;background:#fff6e5;padding:6px 8px;border-radius:4px;font-size:13px;margin:6px 0}
table{border-collapse:collapse;font-size:13px;width:100%} td,th{border-bottom:1px solid #e3e6eb;padding:4px 6px;text-align:left}
.ok{color:#137333;font-weight:600} .bad{color:#b3261e;font-weight:600} .legend{font-size:12px;color:#555}
#render-log,#errors{font-size:11px;color:#777;padding:0 22px 10px;white-space:pre-wrap}
</style></head>
<body>
<header><h1>__TITLE__</h1><p>__SUBTITLE__</p></header>
<div class="controls">
<label>System <select id="system"></select></label>
<label>Trajectory <select id="traj"></select></label>
<label><input type="checkbox" id="animate" checked> animate</label>
</div>
<main>
<section id="view-trajectory" data-view="trajectory" data-rendered="no"><h2>1. Trajectory viewer &mdash; true vs predicted</h2>
<canvas id="c-traj" width="640" height="380"></canvas><div class="legend" id="legend-traj"></div><div id="note-traj"></div></section>
<section id="view-energy" data-view="energy" data-rendered="no"><h2>2. Energy monitor</h2>
<canvas id="c-energy" width="640" height="380"></canvas><div class="legend" id="legend-energy"></div><div id="note-energy"></div></section>
<section id="view-latent" data-view="latent" data-rendered="no"><h2>3. Latent-space explorer (PCA)</h2>
<canvas id="c-latent" width="640" height="380"></canvas><div class="legend" id="legend-latent"></div><div id="note-latent"></div></section>
<section id="view-equations" data-view="equations" data-rendered="no"><h2>4. Discovered equations</h2>
<div id="equations"></div></section>
</main>
<div id="render-log"></div><div id="errors"></div>
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

function marked(view, text) {
  var s = document.getElementById("view-" + view);
  s.setAttribute("data-rendered", "yes");
  var log = document.getElementById("render-log");
  if (log.textContent.indexOf("rendered " + view + " ") < 0) log.textContent += "rendered " + view + " \n";
}
function note(id, text) { document.getElementById(id).innerHTML = text ? '<div class="note">' + text + '</div>' : ""; }
function finite(v) { return v !== null && isFinite(v); }
function range(arrs) {
  var lo = Infinity, hi = -Infinity;
  arrs.forEach(function (a) { a.forEach(function (v) { if (finite(v)) { if (v < lo) lo = v; if (v > hi) hi = v; } }); });
  if (!isFinite(lo)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(hi))) { lo -= 0.5; hi += 0.5; }
  var pad = 0.06 * (hi - lo); return [lo - pad, hi + pad];
}
function axes(ctx, W, H, xr, yr, xl, yl) {
  var m = {l: 62, r: 12, t: 10, b: 36};
  ctx.clearRect(0, 0, W, H); ctx.strokeStyle = "#999"; ctx.lineWidth = 1;
  ctx.strokeRect(m.l, m.t, W - m.l - m.r, H - m.t - m.b);
  ctx.fillStyle = "#333"; ctx.font = "12px sans-serif";
  for (var i = 0; i <= 4; i++) {
    var xv = xr[0] + i * (xr[1] - xr[0]) / 4, yv = yr[0] + i * (yr[1] - yr[0]) / 4;
    var px = m.l + i * (W - m.l - m.r) / 4, py = H - m.b - i * (H - m.t - m.b) / 4;
    ctx.fillText(xv.toPrecision(3), px - 14, H - m.b + 14);
    ctx.fillText(yv.toPrecision(3), 4, py + 4);
  }
  ctx.fillText(xl, W / 2 - 10, H - 6);
  ctx.save(); ctx.translate(12, H / 2 + 20); ctx.rotate(-Math.PI / 2); ctx.fillText(yl, 0, 0); ctx.restore();
  return function (x, y) {
    return [m.l + (x - xr[0]) / (xr[1] - xr[0]) * (W - m.l - m.r), H - m.b - (y - yr[0]) / (yr[1] - yr[0]) * (H - m.t - m.b)];
  };
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

// ---------------------------------------------------------------- 1. trajectories
function drawTrajectory() {
  var d = DATA.systems[state.system], c = document.getElementById("c-traj"), ctx = c.getContext("2d");
  var S = d.states_true, Pd = d.states_pred, k = Math.min(state.traj, S.length - 1), nm = d.state_names;
  var planar = nm.length >= 4;   // (x, y, vx, vy): draw the path; 1-D: the phase portrait (x, v)
  var ix = 0, iy = planar ? 1 : 1;
  var xs = col(S, k, ix), ys = col(S, k, iy), arrs = [xs], brr = [ys], xp = null, yp = null;
  if (Pd) { xp = col(Pd, k, ix); yp = col(Pd, k, iy); arrs.push(xp); brr.push(yp); }
  var P = axes(ctx, c.width, c.height, range(arrs), range(brr), nm[ix], nm[iy]);
  var f = document.getElementById("animate").checked ? state.frame % xs.length : xs.length - 1;
  line(ctx, P, xs, ys, "#c5cad3", [], 1);
  line(ctx, P, xs, ys, COLORS.truth, [], 2, f);
  if (Pd) { line(ctx, P, xp, yp, COLORS.pred, [6, 4], 2, f); dot(ctx, P, xp[f], yp[f], COLORS.pred, 4); }
  dot(ctx, P, xs[f], ys[f], COLORS.truth, 5);
  document.getElementById("legend-traj").innerHTML = "<b>&mdash;</b> true (simulated) &nbsp; <span style='color:" +
    COLORS.pred + "'><b>- -</b> predicted (decoder reconstruction)</span> &nbsp; t = " + d.t[f].toPrecision(3) +
    (planar ? "" : " &nbsp; (1-D system: phase portrait x vs v)");
  note("note-traj", Pd ? (d.pred_note || "") : "No model prediction for this system: run lesson 11 first.");
  marked("trajectory");
}

// ---------------------------------------------------------------- 2. energy
function drawEnergy() {
  var d = DATA.systems[state.system], c = document.getElementById("c-energy"), ctx = c.getContext("2d");
  var k = Math.min(state.traj, d.energy_true.length - 1), Et = d.energy_true[k], Ep = d.energy_pred ? d.energy_pred[k] : null;
  var arrs = [Et]; if (Ep) arrs.push(Ep);
  var yr = range(arrs), P = axes(ctx, c.width, c.height, [d.t[0], d.t[d.t.length - 1]], yr, "t", "energy");
  line(ctx, P, d.t, Et, COLORS.truth, [], 2);
  var viol = 0, tol = d.violation_tol || 0.05, scale = Math.max.apply(null, Et.map(Math.abs)) || 1;
  if (Ep) {
    line(ctx, P, d.t, Ep, COLORS.pred, [6, 4], 2);
    var E0 = Ep[0];
    for (var i = 0; i < Ep.length; i++) {
      if (finite(Ep[i]) && Math.abs(Ep[i] - E0) > tol * scale) { dot(ctx, P, d.t[i], Ep[i], COLORS.bad, 3); viol++; }
    }
  }
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
    note("note-latent", "No latent codes: run lesson 11 first."); marked("latent"); return;
  }
  var xs = d.pca.map(function (p) { return p[0]; }), ys = d.pca.map(function (p) { return p[1]; });
  var ex = d.pca_explained || [null, null];
  var P = axes(ctx, c.width, c.height, range([xs]), range([ys]),
    "PC1" + (ex[0] !== null ? " (" + (100 * ex[0]).toFixed(0) + "%)" : ""), "PC2" + (ex[1] !== null ? " (" + (100 * ex[1]).toFixed(0) + "%)" : ""));
  var E = d.pca_energy || xs.map(function () { return 0; }), er = range([E]);
  for (var i = 0; i < xs.length; i++) dot(ctx, P, xs[i], ys[i], viridis((E[i] - er[0]) / (er[1] - er[0])), 3);
  document.getElementById("legend-latent").innerHTML = "colour: true energy from " + er[0].toPrecision(3) +
    " (dark) to " + er[1].toPrecision(3) + " (yellow); " + xs.length + " trajectories";
  note("note-latent", d.latent_note || "");
  marked("latent");
}

// ---------------------------------------------------------------- 4. equations
function fmt(v, p) { return finite(v) ? Number(v).toPrecision(p || 4) : "&ndash;"; }
function drawEquations() {
  var d = DATA.systems[state.system], h = "";
  if (d.equations && d.equations.length) {
    h += "<table><tr><th>quantity</th><th>discovered law</th><th>R&sup2;</th><th>coef. error</th><th>complexity</th><th>document claims</th></tr>";
    d.equations.forEach(function (e) {
      var ok = e.r2 >= 0.999 && e.coef_error <= 0.02;
      h += "<tr><td>" + e.quantity + "</td><td>" + e.law_html + "</td><td class='" + (e.r2 >= 0.999 ? "ok" : "bad") + "'>" +
        fmt(e.r2, 6) + "</td><td class='" + (ok ? "ok" : "bad") + "'>" + (finite(e.coef_error) ? (e.coef_error < 1e-5 ? "&lt;0.001%" : (100 * e.coef_error).toPrecision(2) + "%") : "structure differs") +
        "</td><td>" + (e.complexity || "") + "</td><td>" + (e.claimed || "") + "</td></tr>";
    });
    h += "</table>";
  } else h += "<div class='note'>No symbolic-regression results for this system.</div>";
  if (d.conserved && d.conserved.length) {
    h += "<h3 style='font-size:14px'>Found without labels (constant along each trajectory, different between trajectories)</h3><ul>";
    d.conserved.forEach(function (q) { h += "<li>" + q.html + " &nbsp; <span class='legend'>drift " + fmt(q.drift, 2) + "</span></li>"; });
    h += "</ul>";
  }
  (d.notes || []).forEach(function (n) { h += "<div class='note'>" + n + "</div>"; });
  document.getElementById("equations").innerHTML = h;
  marked("equations");
}

// ---------------------------------------------------------------- wiring
function drawAll() {
  [drawTrajectory, drawEnergy, drawLatent, drawEquations].forEach(function (f) {
    try { f(); } catch (err) { document.getElementById("errors").textContent += "error in " + f.name + ": " + err + "\n"; }
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
  fillTraj(); drawAll();
  setInterval(function () { if (document.getElementById("animate").checked) { state.frame++; drawTrajectory(); } }, 60);
})();
"""
