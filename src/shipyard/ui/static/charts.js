// Time-series charts with uPlot: every <figure data-chart> holds its data in a
// <script type="application/json"> child, or names a URL to fetch it from in data-src:
// {"x": [unix seconds or steps...], "time": false?, "series": [{"label": "...", "values": [...]}]}.
// Pages add the element and load uPlot + this file; nothing else to wire.
(function () {
  "use strict";
  var COLOURS = ["#1d4e89", "#bf8700", "#116329", "#a40e26", "#6639ba", "#0a7d8c", "#8a4600", "#57606a"];
  function plot(fig, spec) {
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var series = [{}].concat(spec.series.map(function (s, i) {
      return { label: s.label, stroke: COLOURS[i % COLOURS.length], width: spec.series.length > 20 ? 1 : 2,
               spanGaps: true, points: { show: spec.x.length < 60 } };
    }));
    var width = Math.max(300, fig.clientWidth || 600);
    // a coarse first draw (the rollup) fetches the exact buckets the first time the
    // user zooms in, and keeps the zoom
    var hooks = spec.coarse ? { setSelect: [function (u) { refine(fig, u); }] } : {};
    new uPlot({ width: width, height: 220, series: series, legend: { show: spec.series.length <= 12 },
                scales: { x: { time: spec.time !== false } }, hooks: hooks },
              data, fig.querySelector(".chart") || fig);
    fig.dataset.ready = "true";
    if (window.performance && performance.mark) { performance.mark("chart-drawn"); }
  }
  function refine(fig, u) {
    if (fig.dataset.refined) { return; }
    fig.dataset.refined = "loading";
    fetch(fig.dataset.src, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (spec) {
        u.setData([spec.x].concat(spec.series.map(function (s) { return s.values; })), false);
        fig.dataset.refined = "true";
      })
      .catch(function () { delete fig.dataset.refined; });
  }
  // data-rollup: the first draw asks for the rollup (coarse, a 16th of the rows)
  function firstUrl(fig) {
    return fig.dataset.src + (fig.dataset.rollup !== undefined ? "&rollup=true" : "");
  }
  // Charts with data-src load one after another, in page order: the first is drawn as
  // soon as its own data arrives instead of sharing the server with every other chart.
  function fetchInTurn(figs) {
    var fig = figs.shift();
    if (!fig) { return; }
    fetch(firstUrl(fig), { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (spec) { plot(fig, spec); })
      .catch(function (e) { fig.dataset.ready = "error"; fig.append(" (could not load: " + e.message + ")"); })
      .then(function () { fetchInTurn(figs); });
  }
  function start() {
    var remote = [];
    document.querySelectorAll("figure[data-chart]").forEach(function (fig) {
      if (fig.dataset.src) { remote.push(fig); return; }
      plot(fig, JSON.parse(fig.querySelector("script[type='application/json']").textContent));
    });
    fetchInTurn(remote);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
