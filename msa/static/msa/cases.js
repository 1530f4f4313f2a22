// The case page's read-only map of the case's exclusion zones. No tiles needed: without a tile
// URL the map is a plain background on which the zones are still drawn. (Drawing zones on the
// decision page is zones.js.)
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

  var caseMap = document.getElementById("case-map");
  var zonesData = document.getElementById("zones-data");
  if (caseMap && zonesData) {
    var map = baseMap(caseMap);
    var group = L.featureGroup();
    JSON.parse(zonesData.textContent).forEach(function (z) { group.addLayer(drawZone(map, z)); });
    if (group.getLayers().length) map.fitBounds(group.getBounds().pad(0.3));
  }
})();
