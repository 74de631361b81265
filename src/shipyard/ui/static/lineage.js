// Lineage graph: cytoscape over /ui/catalog/<kind>/<name>/lineage.json.
// Up to DAGRE_MAX assets dagre lays the graph out (fewest crossings). Past that dagre
// takes minutes, so assets are placed in columns by their distance from the root (a
// breadth-first walk), each column ordered by where its neighbours sit in the previous
// one. Large graphs stay responsive: labels only when zoomed in, edges hidden and a
// bitmap shown while the viewport moves (cytoscape's own performance options).
(function () {
  "use strict";
  var DAGRE_MAX = window.SHIPYARD_DAGRE_MAX || 400;  // tests lower it to reach the column layout
  var LOD = window.ShipyardLineageLOD;  // lineage_lod.js: bundled edges past LOD_MIN assets
  var LOD_MIN = window.SHIPYARD_LOD_MIN || 1500;

  // Which renderer draws a large graph: "webgl" (cytoscape's WebGL renderer, WebGL 2)
  // when the browser has a GPU behind WebGL 2, else "canvas" (the 2D canvas). A software
  // WebGL (SwiftShader, llvmpipe: headless or GPU-less machines) draws the first frame no
  // sooner than the 2D canvas and pans slower (docs/ui.md), so it gets the canvas too.
  // window.SHIPYARD_WEBGL = true takes any WebGL 2, false never uses it.
  var SOFTWARE_GL = /swiftshader|llvmpipe|softpipe|software|basic render/i;
  function largeRenderer() {
    var wanted = window.SHIPYARD_WEBGL;
    if (wanted === false) { return "canvas"; }
    try {
      var gl = document.createElement("canvas").getContext("webgl2");
      if (!gl) { return "canvas"; }
      var info = gl.getExtension("WEBGL_debug_renderer_info");
      var name = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      var lose = gl.getExtension("WEBGL_lose_context");
      if (lose) { lose.loseContext(); }
      return wanted === true || !SOFTWARE_GL.test(name) ? "webgl" : "canvas";
    } catch (err) { return "canvas"; }
  }

  // Positions {id: {x, y}} from the element list alone (plain arrays: cytoscape's
  // collection calls cost seconds at 5,000 nodes).
  function columns(elements, rootId, upstream) {
    var adj = {};
    elements.forEach(function (e) {
      var d = e.data;
      if (d.source) {
        (adj[d.source] = adj[d.source] || []).push(d.target);
        (adj[d.target] = adj[d.target] || []).push(d.source);
      }
    });
    var depth = {}; depth[rootId] = 0;
    var byDepth = [[rootId]]; var rank = {}; rank[rootId] = 0;
    for (var d = 0; byDepth[d] && byDepth[d].length; d++) {
      var next = [];
      byDepth[d].forEach(function (id) {
        (adj[id] || []).forEach(function (w) {
          if (depth[w] === undefined) { depth[w] = d + 1; next.push(w); }
        });
      });
      var bary = {};  // barycentre of each node's neighbours in this column
      next.forEach(function (w) {
        var sum = 0; var n = 0;
        adj[w].forEach(function (u) { if (depth[u] === d) { sum += rank[u]; n += 1; } });
        bary[w] = n ? sum / n : 0;
      });
      next.sort(function (a, b) { return bary[a] - bary[b]; });
      next.forEach(function (w, i) { rank[w] = i; });
      byDepth.push(next);
    }
    var positions = {};
    byDepth.forEach(function (ids, d) {
      ids.forEach(function (id, i) {
        positions[id] = { x: (upstream ? -1 : 1) * d * 260, y: (i - ids.length / 2) * 26 };
      });
    });
    return { positions: positions, depth: depth, rank: rank };
  }

  // The viewport that fits ``pos``, from the positions alone: cytoscape's own fit
  // measures every element's bounding box first (seconds at 10,000 edges).
  function fitted(pos, width, height) {
    var x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    Object.keys(pos).forEach(function (id) {
      var p = pos[id];
      if (p.x < x0) { x0 = p.x; } if (p.x > x1) { x1 = p.x; }
      if (p.y < y0) { y0 = p.y; } if (p.y > y1) { y1 = p.y; }
    });
    var pad = 30;
    var zoom = Math.min(width / (x1 - x0 + 2 * pad), height / (y1 - y0 + 2 * pad));
    zoom = Math.max(0.02, Math.min(4, zoom));
    return { zoom: zoom, pan: { x: width / 2 - zoom * (x0 + x1) / 2, y: height / 2 - zoom * (y0 + y1) / 2 } };
  }

  function start() {
    var box = document.getElementById("lineage");
    var status = document.getElementById("lineage-status");
    if (!box || typeof cytoscape === "undefined") { return; }
    var t0 = performance.now();
    fetch(box.dataset.src, { credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (data) {
        var n = data.elements.filter(function (e) { return !e.data.source; }).length;
        if (n > DAGRE_MAX) { draw(box, status, data, n, t0); return; }
        withDagre(function () {
          try { draw(box, status, data, n, t0); }
          catch (err) { status.textContent = "Could not draw the graph: " + err.message; }
        });
      })
      .catch(function (err) { status.textContent = "Could not load the graph: " + err.message; });
  }

  // dagre (small graphs only) is loaded when a graph needs it, unless the page has it
  var dagreUsed = false;
  function withDagre(done) {
    function use() {
      if (!dagreUsed && typeof cytoscapeDagre !== "undefined") { cytoscape.use(cytoscapeDagre); dagreUsed = true; }
      done();
    }
    if (typeof cytoscapeDagre !== "undefined") { use(); return; }
    function load(src, next) {
      var s = document.createElement("script");
      s.src = src; s.onload = next; s.onerror = next;
      document.head.appendChild(s);
    }
    load("/ui/static/vendor/dagre.min.js", function () { load("/ui/static/vendor/cytoscape-dagre.js", use); });
  }

  function draw(box, status, data, n, t0) {
    var tFetched = performance.now();
    var big = n > DAGRE_MAX;
    var upstream = box.dataset.src.indexOf("direction=downstream") < 0;
    var view = null;
    if (big) {  // placed before cytoscape starts: no second layout pass
      var placed = columns(data.elements, data.root, upstream);
      var pos = placed.positions;
      data.elements.forEach(function (e) {
        if (!e.data.source) { e.position = pos[e.data.id] || { x: 0, y: 0 }; }
      });
      view = fitted(pos, box.clientWidth || 800, box.clientHeight || 600);
    }
    var webgl = big && largeRenderer() === "webgl";
    var lod = big && LOD && n > LOD_MIN ? LOD.bundle(data.elements, placed, view.zoom) : null;
    var tPlaced = performance.now();
    var cy = cytoscape({
      container: box,
      elements: lod ? lod.elements : data.elements,
      minZoom: 0.02, maxZoom: 4, wheelSensitivity: 0.3,
      zoom: view ? view.zoom : 1, pan: view ? view.pan : { x: 0, y: 0 },
      renderer: { name: "canvas", webgl: webgl },
      textureOnViewport: big && !webgl, hideEdgesOnViewport: big && !webgl, motionBlur: false,
      pixelRatio: big ? 1 : "auto",
      style: [
        { selector: "node", style: {
          "label": big ? "" : "data(label)", "font-size": 11,
          "text-valign": "bottom", "text-margin-y": 3, "width": 18, "height": 18,
          "background-color": "#1d4e89" } },
        { selector: "node[?root]", style: { "background-color": "#a40e26", "width": 26, "height": 26 } },
        { selector: "node[kind = 'model'], node[kind = 'model_version']", style: { "shape": "diamond" } },
        { selector: "node[kind = 'run']", style: { "shape": "round-rectangle" } },
        { selector: "edge", style: {
          "width": 1, "line-color": "#8c959f", "target-arrow-color": "#8c959f",
          "target-arrow-shape": big ? "none" : "triangle", "curve-style": big ? "haystack" : "bezier" } },
        { selector: ":selected", style: { "background-color": "#bf8700", "label": "data(label)" } },
        { selector: "node.hover", style: { "label": "data(label)", "z-index": 10 } }
      ].concat(lod ? LOD.style : []),
      layout: big ? { name: "preset", fit: false } : { name: "null" }
    });
    var tInit = performance.now();
    if (lod) { LOD.attach(cy, lod); }
    if (!big) {
      cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 8, rankSep: 60, animate: false }).run();
    }
    cy.on("mouseover", "node", function (evt) { evt.target.addClass("hover"); });
    cy.on("mouseout", "node", function (evt) { evt.target.removeClass("hover"); });
    var tLayout = performance.now();
    if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }  // a small graph is not blown up
    cy.on("tap", "node", function (evt) {
      var href = evt.target.data("href");
      if (href) { window.location.href = href; }
    });
    var ms = Math.round(performance.now() - t0);
    status.textContent = n + " assets, " + (data.elements.length - n) + " edges; drawn in " + ms + " ms" +
      (lod ? " (edges bundled between groups of assets: zoom in or point at an asset for its own)" : "");
    window.shipyardLineage = { cy: cy, nodes: n, lod: lod ? lod.state : null, renderer: webgl ? "webgl" : "canvas", ms: ms, script_at: Math.round(t0), fetch: Math.round(tFetched - t0),
      place: Math.round(tPlaced - tFetched), init: Math.round(tInit - tPlaced),
      layout: Math.round(tLayout - tInit) };
    requestAnimationFrame(function () {  // ready once the first frame is drawn: what the user sees
      requestAnimationFrame(function () {
        window.shipyardLineage.painted = Math.round(performance.now());
        box.dataset.ready = "true";
      });
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
