// Time-series charts with uPlot: every <figure data-chart> holds its data in a
// <script type="application/json"> child: {"x": [unix seconds...], "series": [{"label": "...", "values": [...]}]}.
// Pages add the element and load uPlot + this file; nothing else to wire.
(function () {
  "use strict";
  var COLOURS = ["#1d4e89", "#bf8700", "#116329", "#a40e26", "#6639ba"];
  function draw(fig) {
    var spec = JSON.parse(fig.querySelector("script[type='application/json']").textContent);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var series = [{}].concat(spec.series.map(function (s, i) {
      return { label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: spec.x.length < 60 } };
    }));
    var width = Math.max(300, fig.clientWidth || 600);
    new uPlot({ width: width, height: 220, series: series, scales: { x: { time: spec.time !== false } } },
              data, fig.querySelector(".chart") || fig);
    fig.dataset.ready = "true";
  }
  function start() { document.querySelectorAll("figure[data-chart]").forEach(draw); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
