// The incident map. With no tile URL configured (or no network) it still draws the
// positions, their accuracy circles and a coordinate grid on a plain background.
(function () {
  "use strict";
  const el = document.getElementById("map");
  if (!el || typeof L === "undefined") return;
  const data = JSON.parse(document.getElementById("map-data").textContent);
  const fixes = data.fixes || [];
  const map = L.map(el, { zoomControl: true, attributionControl: true });
  const tileUrl = el.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
  } else {
    const note = L.control({ position: "bottomleft" });
    note.onAdd = function () {
      const div = L.DomUtil.create("div", "map-note");
      div.textContent = "no map tiles: positions on a coordinate grid";
      return div;
    };
    note.addTo(map);
  }
  L.control.scale({ metric: true, imperial: false }).addTo(map);

  function grid() {
    const b = map.getBounds();
    const step = map.getZoom() >= 15 ? 0.002 : map.getZoom() >= 12 ? 0.01 : 0.1;
    const lines = [];
    for (let lat = Math.floor(b.getSouth() / step) * step; lat <= b.getNorth(); lat += step) {
      lines.push([[lat, b.getWest()], [lat, b.getEast()]]);
    }
    for (let lon = Math.floor(b.getWest() / step) * step; lon <= b.getEast(); lon += step) {
      lines.push([[b.getSouth(), lon], [b.getNorth(), lon]]);
    }
    return L.polyline(lines, { color: "#2f3d4a", weight: 1, interactive: false });
  }
  let gridLayer = null;
  if (!tileUrl) {
    map.on("moveend", function () {
      if (gridLayer) map.removeLayer(gridLayer);
      gridLayer = grid().addTo(map);
    });
  }

  if (fixes.length === 0) {
    map.setView([50.85, 4.35], 8);
    return;
  }
  const track = fixes.map(function (f) { return [f.lat, f.lon]; });
  const last = fixes[fixes.length - 1];
  map.setView([last.lat, last.lon], 16);
  if (track.length > 1) L.polyline(track, { color: "#4aa3ff", weight: 3 }).addTo(map);
  L.circle([last.lat, last.lon], { radius: last.accuracy_m, color: "#ff4d4f", weight: 1, fillOpacity: 0.15 }).addTo(map);
  L.circleMarker([last.lat, last.lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#ff4d4f", fillOpacity: 1 })
    .addTo(map)
    .bindTooltip(last.label, { permanent: true, direction: "right" });
})();
