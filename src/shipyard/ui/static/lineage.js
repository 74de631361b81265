// Lineage graph: cytoscape + dagre over /ui/catalog/<kind>/<name>/lineage.json.
// Large graphs stay responsive: labels only when zoomed in, edges hidden while panning,
// a bitmap of the graph while the viewport moves (cytoscape's own performance options).
(function () {
  "use strict";
  function start() {
    var box = document.getElementById("lineage");
    var status = document.getElementById("lineage-status");
    if (!box || typeof cytoscape === "undefined") { return; }
    if (typeof cytoscapeDagre !== "undefined") { cytoscape.use(cytoscapeDagre); }
    var t0 = performance.now();
    fetch(box.dataset.src, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        var n = data.elements.filter(function (e) { return !e.data.source; }).length;
        var big = n > 500;
        var cy = cytoscape({
          container: box,
          elements: data.elements,
          minZoom: 0.02, maxZoom: 4, wheelSensitivity: 0.3,
          textureOnViewport: big, hideEdgesOnViewport: big, motionBlur: false,
          pixelRatio: big ? 1 : "auto",
          style: [
            { selector: "node", style: {
              "label": "data(label)", "font-size": 11, "min-zoomed-font-size": big ? 9 : 0,
              "text-valign": "bottom", "text-margin-y": 3, "width": 18, "height": 18,
              "background-color": "#1d4e89" } },
            { selector: "node[?root]", style: { "background-color": "#a40e26", "width": 26, "height": 26 } },
            { selector: "node[kind = 'model'], node[kind = 'model_version']", style: { "shape": "diamond" } },
            { selector: "node[kind = 'run']", style: { "shape": "round-rectangle" } },
            { selector: "edge", style: {
              "width": 1, "line-color": "#8c959f", "target-arrow-color": "#8c959f",
              "target-arrow-shape": big ? "none" : "triangle", "curve-style": big ? "haystack" : "bezier" } },
            { selector: ":selected", style: { "background-color": "#bf8700" } }
          ],
          layout: { name: "dagre", rankDir: "LR", nodeSep: 8, rankSep: 60, animate: false }
        });
        if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }  // a small graph is not blown up
        cy.on("tap", "node", function (evt) {
          var id = evt.target.id(); var i = id.indexOf(":");
          window.location.href = "/ui/catalog/" + id.slice(0, i) + "/" + id.slice(i + 1);
        });
        var ms = Math.round(performance.now() - t0);
        status.textContent = n + " assets, " + (data.elements.length - n) + " edges; drawn in " + ms + " ms";
        window.shipyardLineage = { cy: cy, nodes: n, ms: ms };
        box.dataset.ready = "true";
      })
      .catch(function (err) { status.textContent = "Could not load the graph: " + err.message; });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
