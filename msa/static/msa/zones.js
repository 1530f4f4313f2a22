// The decision page's map: the magistrate or officer draws the exclusion zones instead of
// typing numbers. A circle: "Place the circle", then press at the centre and drag to the
// radius (a click alone keeps the typed radius, 200 m by default). An area: "Draw an area",
// click the corners, then "Finish the area" (or click the first corner again). A drawn
// circle fills the typed fields, which stay the form's fallback; a second circle moves the
// first into the drawn list. The zones in force and the case's places are shown too.
// Works without tiles (a plain background).
(function () {
  "use strict";
  const el = document.getElementById("zone-map");
  if (!el || typeof L === "undefined") return;
  const dataEl = document.getElementById("decide-map-data");
  const data = dataEl ? JSON.parse(dataEl.textContent) : {};
  const GHENT = [51.0543, 3.7174];
  const map = L.map(el, { zoomControl: true });
  if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  map.setView(GHENT, 13);

  const $ = function (id) { return document.getElementById(id); };
  const hidden = $("id_zones_json");
  const status = $("draw-status");
  const labelInput = $("zone-label");
  const circleLabel = $("id_circle_label");
  const latInput = $("id_circle_lat");
  const lonInput = $("id_circle_lon");
  const radiusInput = $("id_circle_radius_m");
  function text(name, fallback) { return (status && status.dataset[name]) || fallback; }
  function say(t) { if (status) status.textContent = t; }
  function round6(x) { return Math.round(x * 1e6) / 1e6; }

  // --- what is already decided, and the places ---
  const context = L.featureGroup().addTo(map);
  (data.zones || []).forEach(function (z) {
    const style = { color: "#8b98a5", weight: 2, dashArray: "6 4", fillOpacity: 0.05, interactive: false };
    const layer = z.shape === "circle"
      ? L.circle([z.lat, z.lon], Object.assign({ radius: z.radius_m }, style))
      : L.polygon(z.rings, style);
    context.addLayer(layer.bindTooltip(text("textInForce", "in force") + ": " + z.label,
      { permanent: true, direction: "center", className: "zone-label zone-in-force" }));
  });
  (data.places || []).forEach(function (p) {
    context.addLayer(L.circleMarker([p.lat, p.lon], { radius: 6, color: p.kind === "suspect" ? "#e5484d" : "#9b7bff", weight: 2, fillOpacity: 0.6 })
      .bindTooltip(p.label, { permanent: true, direction: "right", className: "place-label" }));
  });
  if (context.getLayers().length) map.fitBounds(context.getBounds().pad(0.3), { maxZoom: 16 });

  // --- what is drawn now ---
  let drawn = [];
  try { drawn = JSON.parse(hidden.value || "[]"); } catch (e) { drawn = []; }
  if (!Array.isArray(drawn)) drawn = [];
  const drawnLayers = L.featureGroup().addTo(map);
  let circle = null;   // the circle of the typed fields
  let mode = null;
  let vertices = [];
  let sketch = null;
  let pressed = null;  // the centre while a circle is being dragged

  function zoneLayer(z) {
    const style = { color: "#e5484d", weight: 2 };
    const layer = z.shape === "circle"
      ? L.circle([z.lat, z.lon], Object.assign({ radius: z.radius_m }, style))
      : L.polygon(z.rings, style);
    return layer.bindTooltip(z.label, { permanent: true, direction: "center", className: "zone-label" });
  }
  function redraw() {
    drawnLayers.eachLayer(function (l) { l.unbindTooltip(); });
    drawnLayers.clearLayers();
    drawn.forEach(function (z) { drawnLayers.addLayer(zoneLayer(z)); });
    hidden.value = drawn.length ? JSON.stringify(drawn) : "";
  }
  function typedCircle() {
    const lat = parseFloat(latInput.value), lon = parseFloat(lonInput.value);
    if (isNaN(lat) || isNaN(lon)) return null;
    return { label: (circleLabel.value || "").trim() || text("textDefaultLabel", "area ban"),
      shape: "circle", lat: lat, lon: lon, radius_m: parseInt(radiusInput.value || "200", 10) || 200 };
  }
  function showCircle() {  // one layer, moved and resized in place while dragging
    const z = typedCircle();
    if (!z) { if (circle) { circle.unbindTooltip(); map.removeLayer(circle); circle = null; } return; }
    if (!circle) { circle = zoneLayer(z).addTo(map); return; }
    circle.setLatLng([z.lat, z.lon]).setRadius(z.radius_m).setTooltipContent(z.label);
  }
  [latInput, lonInput, radiusInput, circleLabel].forEach(function (i) { if (i) i.addEventListener("input", showCircle); });

  function setMode(m) {
    mode = m;
    el.classList.toggle("drawing", m !== null);
    if (m === null) { map.dragging.enable(); map.doubleClickZoom.enable(); }
    else { map.doubleClickZoom.disable(); }
  }

  $("draw-circle").addEventListener("click", function () {
    setMode("circle");
    map.dragging.disable();
    say(text("textCircle", "press at the centre and drag to the radius"));
  });
  $("draw-polygon").addEventListener("click", function () {
    setMode("polygon"); vertices = [];
    say(text("textPolygon", "click the corners, then Finish"));
  });
  function finishPolygon() {
    if (mode !== "polygon" || vertices.length < 3) { say(text("textCorners", "an area needs 3 corners or more")); return; }
    const label = (labelInput.value || "").trim() || text("textDefaultLabel", "area ban");
    const ring = vertices.map(function (v) { return [round6(v.lat), round6(v.lng)]; });
    drawn.push({ label: label, shape: "polygon", rings: [ring] });
    if (sketch) { map.removeLayer(sketch); sketch = null; }
    vertices = []; setMode(null); redraw();
    say(drawn.length + " " + text("textDrawn", "area(s) drawn"));
  }
  $("draw-finish").addEventListener("click", finishPolygon);
  $("draw-clear").addEventListener("click", function () {
    drawn = []; vertices = []; redraw(); setMode(null);
    if (sketch) { map.removeLayer(sketch); sketch = null; }
    latInput.value = ""; lonInput.value = ""; showCircle(); say("");
  });

  // a circle: press at the centre, drag to the radius, release
  map.on("mousedown", function (e) {
    if (mode !== "circle") return;
    const previous = typedCircle();
    if (previous) {  // the typed circle is kept as a drawn one
      drawn.push(previous); redraw();
      if (circle) { circle.unbindTooltip(); map.removeLayer(circle); circle = null; }
    }
    pressed = e.latlng;
    latInput.value = e.latlng.lat.toFixed(6);
    lonInput.value = e.latlng.lng.toFixed(6);
    if (!radiusInput.value) radiusInput.value = "200";
    showCircle();
  });
  map.on("mousemove", function (e) {
    if (mode !== "circle" || !pressed) return;
    const r = Math.round(map.distance(pressed, e.latlng));
    if (r >= 10) { radiusInput.value = String(r); showCircle(); say(r + " m"); }
  });
  map.on("mouseup", function () {
    if (mode !== "circle" || !pressed) return;
    pressed = null; setMode(null); showCircle();
    say(text("textPlaced", "circle placed") + ": " + radiusInput.value + " m");
  });
  map.on("click", function (e) {
    if (mode !== "polygon") return;
    if (vertices.length >= 3) {
      const first = map.latLngToContainerPoint(vertices[0]);
      if (first.distanceTo(map.latLngToContainerPoint(e.latlng)) < 10) { finishPolygon(); return; }
    }
    vertices.push(e.latlng);
    if (sketch) map.removeLayer(sketch);
    sketch = L.polyline(vertices, { color: "#f5a524", dashArray: "4" }).addTo(map);
    say(vertices.length + " " + text("textCornersSoFar", "corner(s)"));
  });
  redraw();
  showCircle();
})();
