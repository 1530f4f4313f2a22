// Case pages: the exclusion-zone map of a decision (draw a circle or a polygon by clicking)
// and the read-only map of a case's zones. No tiles needed: without a tile URL the map is a
// plain background on which the zones are still drawn.
(function () {
  "use strict";
  if (typeof L === "undefined") return;
  var GHENT = [51.0543, 3.7174];

  function baseMap(el) {
    var map = L.map(el, { zoomControl: true });
    var tileUrl = el.dataset.tileUrl;
    if (tileUrl) L.tileLayer(tileUrl, { maxZoom: 19 }).addTo(map);
    L.control.scale({ metric: true, imperial: false }).addTo(map);
    map.setView(GHENT, 13);
    return map;
  }

  function drawZone(map, z) {
    if (z.shape === "circle") {
      return L.circle([z.lat, z.lon], { radius: z.radius_m, color: "#e5484d" }).addTo(map).bindTooltip(z.label);
    }
    return L.polygon(z.rings, { color: "#e5484d" }).addTo(map).bindTooltip(z.label);
  }

  // --- read-only map on the case page ---
  var caseMap = document.getElementById("case-map");
  var zonesData = document.getElementById("zones-data");
  if (caseMap && zonesData) {
    var map = baseMap(caseMap);
    var group = L.featureGroup();
    JSON.parse(zonesData.textContent).forEach(function (z) { group.addLayer(drawZone(map, z)); });
    if (group.getLayers().length) map.fitBounds(group.getBounds().pad(0.3));
  }

  // --- drawing on the decision form ---
  var el = document.getElementById("zone-map");
  if (!el) return;
  var dmap = baseMap(el);
  var hidden = document.getElementById("id_zones_json");
  var status = document.getElementById("draw-status");
  var labelInput = document.getElementById("zone-label");
  var latInput = document.getElementById("id_circle_lat");
  var lonInput = document.getElementById("id_circle_lon");
  var radiusInput = document.getElementById("id_circle_radius_m");
  var mode = null;
  var vertices = [];
  var sketch = null;
  var circle = null;
  var drawn = [];
  var drawnLayers = L.featureGroup().addTo(dmap);

  function save() { hidden.value = JSON.stringify(drawn); }
  function say(text) { status.textContent = text; }

  function showCircle() {
    var lat = parseFloat(latInput.value), lon = parseFloat(lonInput.value);
    var radius = parseInt(radiusInput.value || "200", 10);
    if (circle) { dmap.removeLayer(circle); circle = null; }
    if (isNaN(lat) || isNaN(lon)) return;
    circle = L.circle([lat, lon], { radius: radius, color: "#f5a524" }).addTo(dmap);
  }
  [latInput, lonInput, radiusInput].forEach(function (i) { if (i) i.addEventListener("input", showCircle); });

  document.getElementById("draw-circle").addEventListener("click", function () {
    mode = "circle"; say(msaText("zoneClickCentre", "click the centre of the circle"));
  });
  document.getElementById("draw-polygon").addEventListener("click", function () {
    mode = "polygon"; vertices = []; say(msaText("zoneClickCorners", "click the corners, then Finish"));
  });
  document.getElementById("draw-finish").addEventListener("click", function () {
    if (mode !== "polygon" || vertices.length < 3) { say(msaText("zoneNeedCorners", "an area needs 3 corners or more")); return; }
    var label = (labelInput.value || msaText("zoneDefaultLabel", "area ban")).trim();
    var ring = vertices.map(function (v) { return [Math.round(v.lat * 1e6) / 1e6, Math.round(v.lng * 1e6) / 1e6]; });
    drawn.push({ label: label, shape: "polygon", rings: [ring] });
    if (sketch) { dmap.removeLayer(sketch); sketch = null; }
    drawnLayers.addLayer(L.polygon([ring], { color: "#e5484d" }).bindTooltip(label));
    vertices = []; mode = null; save();
    say(drawn.length + " " + msaText("zoneDrawn", "area(s) drawn"));
  });
  document.getElementById("draw-clear").addEventListener("click", function () {
    drawn = []; drawnLayers.clearLayers(); vertices = [];
    if (sketch) { dmap.removeLayer(sketch); sketch = null; }
    save(); say("");
  });

  dmap.on("click", function (e) {
    if (mode === "circle") {
      latInput.value = e.latlng.lat.toFixed(6);
      lonInput.value = e.latlng.lng.toFixed(6);
      if (!radiusInput.value) radiusInput.value = "200";
      showCircle(); mode = null; say(msaText("zonePlaced", "circle placed"));
    } else if (mode === "polygon") {
      vertices.push(e.latlng);
      if (sketch) dmap.removeLayer(sketch);
      sketch = L.polyline(vertices, { color: "#f5a524", dashArray: "4" }).addTo(dmap);
      say(vertices.length + " corner(s)");
    }
  });
  showCircle();
})();
