// Level of detail for large lineage graphs (docs/ui.md, ADR 0049). Past LOD_MIN assets
// the first frame has every asset but not every edge: each column of the column layout
// is cut into groups of GROUP assets, and one bundled edge joins two groups with edges
// between them (its width grows with how many). The real edges are added on demand:
// those of the assets in the viewport once zoomed in past DETAIL_ZOOM, and those of an
// asset pointed at or selected with its upstream and downstream (highlighted).
window.ShipyardLineageLOD = (function () {
  "use strict";
  var GROUP = window.SHIPYARD_LOD_GROUP || 40;           // assets per group in a column
  var DETAIL_ZOOM = window.SHIPYARD_DETAIL_ZOOM || 0.35;  // real edges from this zoom on
  var LABEL_ZOOM = 0.7;                                   // names of the visible assets
  var MAX_EDGES = 4000;  // real edges of the viewport drawn at most
  var MAX_CHAIN = 1500;  // and of the pointed-at asset's chains (1,500: 0.5 s to the next frame, load 5)

  // The elements of the first frame: the assets, one invisible anchor per group, one
  // bundled edge per pair of connected groups. ``placed`` is the column layout's
  // {positions, depth, rank}; ``zoom`` the initial one (bundles keep a screen width).
  function bundle(elements, placed, zoom) {
    var pos = placed.positions;
    var group = {}; var anchors = {}; var nodes = []; var edges = [];
    elements.forEach(function (e) {
      var d = e.data;
      if (d.source) { edges.push(d); return; }
      nodes.push(e);
      var g = (placed.depth[d.id] || 0) + "/" + Math.floor((placed.rank[d.id] || 0) / GROUP);
      group[d.id] = g;
      var p = pos[d.id] || { x: 0, y: 0 };
      var a = anchors[g] || (anchors[g] = { x: p.x, y: 0, n: 0 });
      a.y += p.y; a.n += 1;
    });
    var counts = {};
    edges.forEach(function (d) {
      var gs = group[d.source]; var gt = group[d.target];
      if (gs === undefined || gt === undefined || gs === gt) { return; }
      var key = gs + ">" + gt;
      counts[key] = (counts[key] || 0) + 1;
    });
    var out = nodes.slice();
    Object.keys(anchors).forEach(function (g) {
      var a = anchors[g];
      out.push({ data: { id: "g:" + g }, position: { x: a.x, y: a.y / a.n }, classes: "anchor" });
    });
    var bundles = 0;
    Object.keys(counts).forEach(function (key) {
      var ends = key.split(">"); var c = counts[key];
      var w = Math.min(8, 1 + Math.log2(c));
      out.push({ data: { id: "b:" + key, source: "g:" + ends[0], target: "g:" + ends[1],
        count: c, w: w, width: w / zoom }, classes: "bundle" });
      bundles += 1;
    });
    var byNode = {};  // asset id -> its edges (plain arrays, as in columns())
    edges.forEach(function (d) {
      (byNode[d.source] = byNode[d.source] || []).push(d);
      (byNode[d.target] = byNode[d.target] || []).push(d);
    });
    return { elements: out, byNode: byNode, pos: pos, ids: nodes.map(function (e) { return e.data.id; }),
      state: { bundles: bundles, edges: edges.length, real: 0, focus: null, detail: false, sync_ms: 0 } };
  }

  var style = [
    { selector: "node.anchor", style: { "width": 1, "height": 1, "opacity": 0, "events": "no" } },
    { selector: "edge.bundle", style: { "width": "data(width)", "opacity": 0.55,
      "line-color": "#8c959f", "curve-style": "haystack", "events": "no" } },
    { selector: "edge.bundle.off", style: { "display": "none" } },
    { selector: "edge.focus", style: { "line-color": "#bf8700", "width": 2, "z-index": 5 } },
    { selector: "node.named", style: { "label": "data(label)", "min-zoomed-font-size": 7 } }
  ];

  // The edges of ``id`` and of its upstream and downstream chains (up to ``max``).
  function chains(lod, id, max) {
    var found = {}; var n = 0;
    [["target", "source"], ["source", "target"]].forEach(function (way) {
      var queue = [id]; var seen = {}; seen[id] = true;
      while (queue.length && n < max) {
        var at = queue.shift();
        (lod.byNode[at] || []).forEach(function (d) {
          if (d[way[0]] !== at || n >= max) { return; }
          if (!found[d.id]) { found[d.id] = d; n += 1; }
          var next = d[way[1]];
          if (!seen[next]) { seen[next] = true; queue.push(next); }
        });
      }
    });
    return found;
  }

  // The edges touching the assets in ``ext`` (cytoscape's extent), and those assets.
  function inView(lod, ext, max) {
    var found = {}; var shown = []; var n = 0;
    for (var i = 0; i < lod.ids.length && n < max; i++) {
      var id = lod.ids[i]; var p = lod.pos[id];
      if (!p || p.x < ext.x1 || p.x > ext.x2 || p.y < ext.y1 || p.y > ext.y2) { continue; }
      shown.push(id);
      var mine = lod.byNode[id] || [];
      for (var j = 0; j < mine.length; j++) {
        if (!found[mine[j].id]) { found[mine[j].id] = mine[j]; n += 1; }
      }
    }
    return { edges: found, nodes: shown };
  }

  function attach(cy, lod) {
    var drawn = {};  // real edge id -> true while it is in cy
    var named = cy.collection();
    var focus = null; var lastZoom = cy.zoom();
    function sync() {
      var t0 = performance.now();
      var zoom = cy.zoom();
      var detail = zoom >= DETAIL_ZOOM;
      var view = detail ? inView(lod, cy.extent(), MAX_EDGES) : { edges: {}, nodes: [] };
      var lit = focus ? chains(lod, focus, MAX_CHAIN) : {};
      var want = {}; var add = []; var gone = [];
      Object.keys(view.edges).forEach(function (k) { want[k] = view.edges[k]; });
      Object.keys(lit).forEach(function (k) { want[k] = lit[k]; });
      Object.keys(drawn).forEach(function (k) { if (!want[k]) { gone.push(k); delete drawn[k]; } });
      Object.keys(want).forEach(function (k) {
        if (drawn[k]) { return; }
        drawn[k] = true;
        var d = want[k];
        add.push({ group: "edges", data: { id: d.id, source: d.source, target: d.target, op: d.op } });
      });
      cy.batch(function () {
        if (gone.length) { cy.remove(cy.collection(gone.map(function (k) { return cy.getElementById(k); }))); }
        if (add.length) { cy.add(add); }
        cy.edges(".focus").removeClass("focus");
        var litIds = Object.keys(lit);
        if (litIds.length) { cy.collection(litIds.map(function (k) { return cy.getElementById(k); })).addClass("focus"); }
        cy.edges(".bundle").toggleClass("off", detail);
        if (Math.abs(zoom - lastZoom) / lastZoom > 0.15) {  // bundles keep their screen width
          cy.edges(".bundle").forEach(function (e) { e.data("width", e.data("w") / zoom); });
          lastZoom = zoom;
        }
        named.removeClass("named");
        named = zoom >= LABEL_ZOOM ? cy.collection(view.nodes.map(function (k) { return cy.getElementById(k); })) : cy.collection();
        named.addClass("named");
      });
      lod.state.real = Object.keys(drawn).length;
      lod.state.focus = focus;
      lod.state.detail = detail;
      // what the last change cost, to the next frame drawn with it (bench/ui.py)
      requestAnimationFrame(function () { lod.state.sync_ms = Math.round(performance.now() - t0); });
    }
    var timer = null;
    function later() { clearTimeout(timer); timer = setTimeout(sync, 120); }
    cy.on("viewport", later);
    cy.on("mouseover select", "node", function (evt) {
      if (evt.target.hasClass("anchor")) { return; }
      focus = evt.target.id(); later();  // a pointer crossing a column: one change
    });
    cy.on("mouseout unselect", "node", function (evt) {
      if (focus !== evt.target.id() || evt.target.selected()) { return; }
      focus = null; later();
    });
    lod.sync = sync;
  }

  return { bundle: bundle, style: style, attach: attach };
})();
