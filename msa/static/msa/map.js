// The incident map. With no tile URL configured (or no network) it still draws the
// positions, their accuracy circles, the exclusion zones and the units on a coordinate
// grid. window.msaMap.addFixes() takes the positions of alarm.located events live.
// Needs live.js (msaLive.fmt).
(function () {
  "use strict";
  const el = document.getElementById("map");
  if (!el || typeof L === "undefined") return;
  const data = JSON.parse(document.getElementById("map-data").textContent);
  const fixes = (data.fixes || []).slice();
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

  // A view first: Leaflet cannot place vector layers on a map without one.
  if (fixes.length === 0) map.setView([50.85, 4.35], 8);
  else map.setView([fixes[fixes.length - 1].lat, fixes[fixes.length - 1].lon], 15);

  (data.zones || []).forEach(function (z) {
    const style = { color: "#f5a623", weight: 2, dashArray: "6 4", fillOpacity: 0.08 };
    let layer = null;
    if (z.polygon && z.polygon.length) layer = L.polygon(z.polygon, style);
    else if (z.lat != null && z.lon != null && z.radius_m) layer = L.circle([z.lat, z.lon], Object.assign({ radius: z.radius_m }, style));
    if (layer) layer.addTo(map).bindTooltip(z.label || "exclusion zone");
  });
  (data.places || []).forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 6, color: "#9b7bff", weight: 2, fillOpacity: 0.6 })
      .addTo(map).bindTooltip(p.label);
  });
  function eta(s) {
    return s == null ? "" : " · ETA " + window.msaLive.fmt(s);
  }
  (data.units || []).forEach(function (u) {
    const colour = u.status === "available" ? "#3ecf8e" : u.status === "busy" ? "#4aa3ff" : "#8b98a5";
    L.circleMarker([u.lat, u.lon], { radius: 6, color: colour, weight: 2, fillColor: colour, fillOpacity: 0.5, className: "unit-marker" })
      .addTo(map)
      .bindTooltip(u.call_sign + eta(u.eta_s), { permanent: u.status === "available" && u.eta_s != null && u.eta_s < 900, direction: "top" });
  });

  let trackLine = null;
  let accuracy = null;
  let marker = null;
  function draw(recentre) {
    if (!fixes.length) return;
    const last = fixes[fixes.length - 1];
    const track = fixes.map(function (f) { return [f.lat, f.lon]; });
    if (trackLine) map.removeLayer(trackLine);
    if (accuracy) map.removeLayer(accuracy);
    if (marker) map.removeLayer(marker);
    if (track.length > 1) trackLine = L.polyline(track, { color: "#4aa3ff", weight: 3 }).addTo(map);
    accuracy = L.circle([last.lat, last.lon], { radius: last.accuracy_m, color: "#ff4d4f", weight: 1, fillOpacity: 0.15, className: "victim-accuracy" }).addTo(map);
    marker = L.circleMarker([last.lat, last.lon], { radius: 8, color: "#fff", weight: 2, fillColor: "#ff4d4f", fillOpacity: 1, className: "victim-position" })
      .addTo(map)
      .bindTooltip(last.label || "victim", { permanent: true, direction: "right" });
    if (recentre) map.setView([last.lat, last.lon], Math.max(map.getZoom() || 0, 15));
  }

  if (fixes.length) draw(false);

  window.msaMap = {
    addFixes: function (positions) {
      const first = fixes.length === 0;
      positions.forEach(function (p) {
        const t = new Date(p.fix_at);
        fixes.push({ lat: p.lat, lon: p.lon, accuracy_m: p.accuracy_m, fix_at: p.fix_at,
          label: "victim · " + t.toLocaleTimeString([], { hour12: false }) });
      });
      fixes.sort(function (a, b) { return Date.parse(a.fix_at) - Date.parse(b.fix_at); });
      draw(first);
      return fixes[fixes.length - 1];
    },
    centre: function () { draw(true); },
    count: function () { return fixes.length; },
  };
})();
