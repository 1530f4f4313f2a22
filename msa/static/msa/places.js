// The case officer's places page: the recorded places as labelled pins, the zones in force,
// and a click on the map that places the pin of the new place (it fills the latitude and
// longitude fields, which can also be typed; left empty, the gazetteer is asked).
(function () {
  "use strict";
  const el = document.getElementById("place-map");
  if (!el || typeof L === "undefined") return;
  const data = JSON.parse(document.getElementById("places-map-data").textContent);
  const map = L.map(el, { zoomControl: true });
  if (el.dataset.tileUrl) L.tileLayer(el.dataset.tileUrl, { maxZoom: 19 }).addTo(map);
  L.control.scale({ metric: true, imperial: false }).addTo(map);
  map.setView([51.0543, 3.7174], 13);
  const known = L.featureGroup().addTo(map);
  (data.zones || []).forEach(function (z) {
    const style = { color: "#8b98a5", weight: 2, dashArray: "6 4", fillOpacity: 0.05 };
    known.addLayer((z.shape === "circle"
      ? L.circle([z.lat, z.lon], Object.assign({ radius: z.radius_m }, style))
      : L.polygon(z.rings, style)).bindTooltip(z.label, { permanent: true, direction: "center", className: "zone-label" }));
  });
  (data.places || []).forEach(function (p) {
    known.addLayer(L.circleMarker([p.lat, p.lon], { radius: 6, color: p.kind === "suspect" ? "#e5484d" : "#9b7bff", weight: 2, fillOpacity: 0.6 })
      .bindTooltip(p.label, { permanent: true, direction: "right", className: "place-label" }));
  });
  if (known.getLayers().length) map.fitBounds(known.getBounds().pad(0.3), { maxZoom: 16 });
  const lat = document.getElementById("id_lat");
  const lon = document.getElementById("id_lon");
  let pin = null;
  function show() {
    const a = parseFloat(lat.value), b = parseFloat(lon.value);
    if (pin) { map.removeLayer(pin); pin = null; }
    if (!isNaN(a) && !isNaN(b)) pin = L.circleMarker([a, b], { radius: 8, color: "#fff", weight: 2, fillColor: "#f5a524", fillOpacity: 1, className: "new-pin" }).addTo(map);
  }
  map.on("click", function (e) {
    lat.value = e.latlng.lat.toFixed(6);
    lon.value = e.latlng.lng.toFixed(6);
    show();
  });
  [lat, lon].forEach(function (i) { i.addEventListener("input", show); });
  show();
})();
