// The incident map. With no tile URL configured (or no network) it still draws the
// positions, their accuracy circles, the exclusion zones, the places and the units on a
// coordinate grid. window.msaMap.addFixes() takes the positions of alarm.located events
// live; while "follow" is on (the default; dragging the map turns it off) the map keeps
// the victim's last position in view.
// Labels: each exclusion zone carries its name; the victim's home, work and usual places
// and the suspect's known addresses are labelled pins; the units' labels are laid out in
// screen space after every move so that no two overlap and none leaves the view (a unit
// outside the view is labelled at the edge, with the direction and its distance).
// Needs live.js (msaLive.fmt).
(function () {
  "use strict";
  const el = document.getElementById("map");
  if (!el || typeof L === "undefined") return;
  const data = JSON.parse(document.getElementById("map-data").textContent);
  const placesEl = document.getElementById("places-data");
  const places = placesEl ? JSON.parse(placesEl.textContent) : (data.places || []);
  const fixes = (data.fixes || []).slice();
  const map = L.map(el, { zoomControl: true, attributionControl: true });
  const tileUrl = el.dataset.tileUrl;
  if (tileUrl) {
    L.tileLayer(tileUrl, { maxZoom: 19, attribution: el.dataset.attribution || "" }).addTo(map);
  } else {
    const note = L.control({ position: "bottomleft" });
    note.onAdd = function () {
      const div = L.DomUtil.create("div", "map-note");
      div.textContent = msaText("mapNoTiles", "no map tiles: positions on a coordinate grid");
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

  // --- exclusion zones, labelled with their name ---
  const zoneLayers = L.featureGroup().addTo(map);
  (data.zones || []).forEach(function (z) {
    const style = { color: "#f5a623", weight: 2, dashArray: "6 4", fillOpacity: 0.08 };
    let layer = null;
    if (z.polygon && z.polygon.length) layer = L.polygon(z.polygon, style);
    else if (z.lat != null && z.lon != null && z.radius_m) layer = L.circle([z.lat, z.lon], Object.assign({ radius: z.radius_m }, style));
    if (layer) {
      zoneLayers.addLayer(layer.bindTooltip(z.label || msaText("mapExclusionZone", "exclusion zone"),
        { permanent: true, direction: "center", className: "zone-label" }));
    }
  });

  // --- the victim's places and the suspect's addresses, as labelled pins ---
  const PIN = { home: "H", work: "W", usual: "•", suspect: "S" };
  places.forEach(function (p) {
    const icon = L.divIcon({ className: "place-pin place-" + p.kind, html: "", iconSize: [14, 14] });
    const pin = L.marker([p.lat, p.lon], { icon: icon, keyboard: false, title: p.label }).addTo(map);
    pin.bindTooltip((PIN[p.kind] || "•") + " " + p.label, { permanent: true, direction: "top", offset: [0, -8], className: "place-label place-label-" + p.kind });
    const node = pin.getElement();
    if (node) {
      node.textContent = PIN[p.kind] || "•";
      node.style.background = p.kind === "suspect" ? "#e5484d" : "#9b7bff";
      node.style.color = "#fff";
      node.style.borderRadius = "50%";
      node.style.font = "bold 10px/14px sans-serif";
      node.style.textAlign = "center";
    }
  });

  // --- units, with labels laid out so that none overlaps another or leaves the view ---
  function eta(s) {
    return s == null ? "" : " · ETA " + window.msaLive.fmt(s);
  }
  const overlay = L.DomUtil.create("div", "unit-labels", el);
  overlay.style.position = "absolute";
  overlay.style.inset = "0";
  overlay.style.pointerEvents = "none";
  overlay.style.zIndex = "650";
  overlay.style.overflow = "hidden";
  const units = (data.units || []).map(function (u) {
    const colour = u.status === "available" ? "#3ecf8e" : u.status === "busy" ? "#4aa3ff" : "#8b98a5";
    const marker = L.circleMarker([u.lat, u.lon], { radius: 6, color: colour, weight: 2, fillColor: colour, fillOpacity: 0.5, className: "unit-marker" }).addTo(map);
    const label = L.DomUtil.create("div", "map-label unit-label unit-" + u.status, overlay);
    label.dataset.unit = u.call_sign;
    label.style.position = "absolute";
    label.style.whiteSpace = "nowrap";
    label.style.padding = "1px 4px";
    label.style.borderRadius = "3px";
    label.style.font = "12px/16px sans-serif";
    label.style.background = "rgba(15, 22, 30, 0.85)";
    label.style.color = "#fff";
    label.style.border = "1px solid " + colour;
    return { u: u, marker: marker, label: label, text: u.call_sign + eta(u.eta_s) };
  });
  function bearing(from, to) {
    const dy = to.lat - from.lat, dx = (to.lng - from.lng) * Math.cos(from.lat * Math.PI / 180);
    const arrows = ["↑", "↗", "→", "↘", "↓", "↙", "←", "↖"];
    return arrows[(Math.round(Math.atan2(dx, dy) / (Math.PI / 4)) + 8) % 8];
  }
  function distance(m) { return m >= 1000 ? (m / 1000).toFixed(1) + " km" : Math.round(m) + " m"; }
  function overlaps(a, b) {
    return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  }
  function layoutUnits() {
    const size = map.getSize();
    const margin = 2;
    const taken = [];
    const mapBox = el.getBoundingClientRect();
    el.querySelectorAll(".leaflet-control").forEach(function (c) {  // zoom, follow, scale, note
      const r = c.getBoundingClientRect();
      if (r.width) taken.push({ x: r.left - mapBox.left - 2, y: r.top - mapBox.top - 2, w: r.width + 4, h: r.height + 4 });
    });
    if (marker) {  // the victim's own marker and label stay clear
      const v = map.latLngToContainerPoint(marker.getLatLng());
      taken.push({ x: v.x - 10, y: v.y - 10, w: 20, h: 20 });
      const tip = marker.getTooltip() && marker.getTooltip().getElement();
      if (tip) {
        const r = tip.getBoundingClientRect();
        taken.push({ x: r.left - mapBox.left, y: r.top - mapBox.top, w: r.width, h: r.height });
      }
    }
    const centre = map.getCenter();
    units.forEach(function (item) {
      const ll = item.marker.getLatLng();
      const p = map.latLngToContainerPoint(ll);
      const inside = p.x >= 0 && p.y >= 0 && p.x <= size.x && p.y <= size.y;
      item.label.textContent = inside ? item.text
        : bearing(centre, ll) + " " + item.text + " · " + distance(map.distance(centre, ll));
      item.label.classList.toggle("off-view", !inside);
      const w = item.label.offsetWidth, h = item.label.offsetHeight;
      const ax = Math.min(Math.max(p.x, margin), size.x - margin);
      const ay = Math.min(Math.max(p.y, margin), size.y - margin);
      const candidates = [];
      for (let ring = 0; ring < 6; ring += 1) {
        const d = 8 + ring * (h + 2);
        candidates.push([ax + 8, ay - h - d + 8], [ax + 8, ay + d - 8], [ax - w - 8, ay - h - d + 8],
          [ax - w - 8, ay + d - 8], [ax - w / 2, ay - h - d], [ax - w / 2, ay + d]);
      }
      // then a stack along the edges (a corner crowded by labels or a map control)
      for (let k = 1; k * (h + 2) < size.y; k += 1) {
        const dy = k * (h + 2);
        candidates.push([ax - w - 8, ay + dy], [ax - w - 8, ay - h - dy], [ax + 8, ay + dy], [ax + 8, ay - h - dy]);
      }
      let best = null;
      let bestScore = Infinity;
      candidates.forEach(function (c, i) {
        const box = {
          x: Math.min(Math.max(c[0], margin), size.x - w - margin),
          y: Math.min(Math.max(c[1], margin), size.y - h - margin),
          w: w, h: h,
        };
        let hits = 0;
        taken.forEach(function (t) { if (overlaps(box, t)) hits += 1; });
        const score = hits * 1000 + i;
        if (score < bestScore) { bestScore = score; best = box; }
      });
      item.label.style.left = Math.round(best.x) + "px";
      item.label.style.top = Math.round(best.y) + "px";
      taken.push({ x: best.x - 1, y: best.y - 1, w: best.w + 2, h: best.h + 2 });
    });
  }
  map.on("move zoom resize", layoutUnits);

  // --- the victim: track, accuracy, last position; follow ---
  let follow = true;
  const followControl = L.control({ position: "topright" });
  let followButton = null;
  followControl.onAdd = function () {
    followButton = L.DomUtil.create("button", "map-follow");
    followButton.type = "button";
    followButton.id = "map-follow";
    L.DomEvent.disableClickPropagation(followButton);
    followButton.addEventListener("click", function () { setFollow(!follow); });
    return followButton;
  };
  followControl.addTo(map);
  function setFollow(on) {
    follow = on;
    followButton.textContent = on ? "◉ " + msaText("mapFollowing", "following the victim") : "○ " + msaText("mapFollow", "follow the victim");
    followButton.setAttribute("aria-pressed", on ? "true" : "false");
    if (on && fixes.length) draw(true);
    else layoutUnits();  // the button's width changed
  }
  map.on("dragstart", function () { if (follow) setFollow(false); });

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
      .bindTooltip(last.label || msaText("mapVictim", "victim"), { permanent: true, direction: "right" });
    if (recentre) map.setView([last.lat, last.lon], Math.max(map.getZoom() || 0, 15));
    layoutUnits();
  }

  // AML (docs/interop.md): her phone's own emergency location, drawn apart from the device's
  // track with a marker and a dashed radius of its own; read from the incident's live panel
  // (console/_aml.html), so that it follows each re-render and never joins the device's fixes.
  let amlLayer = null;
  function drawAml() {
    const items = document.querySelectorAll("#aml-positions .aml-position[data-lat]");
    if (amlLayer) { map.removeLayer(amlLayer); amlLayer = null; }
    if (!items.length) return;
    const p = items[items.length - 1].dataset;
    const at = [parseFloat(p.lat), parseFloat(p.lon)];
    if (isNaN(at[0]) || isNaN(at[1])) return;
    amlLayer = L.layerGroup().addTo(map);
    if (p.radius) L.circle(at, { radius: parseFloat(p.radius), color: "#9254de", weight: 1, dashArray: "4 4", fillOpacity: 0.08, className: "aml-radius" }).addTo(amlLayer);
    L.circleMarker(at, { radius: 6, color: "#fff", weight: 2, fillColor: "#9254de", fillOpacity: 1, className: "aml-position" })
      .addTo(amlLayer)
      .bindTooltip(msaText("mapAml", "AML"), { permanent: true, direction: "left" });
  }
  const livePanel = document.getElementById("incident-live");
  if (livePanel && window.MutationObserver) new MutationObserver(drawAml).observe(livePanel, { childList: true, subtree: true });
  drawAml();

  setFollow(true);
  layoutUnits();

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
      const last = fixes[fixes.length - 1];
      if (follow && !first) map.panTo([last.lat, last.lon]);
      return last;
    },
    centre: function () { setFollow(true); draw(true); },
    count: function () { return fixes.length; },
    following: function () { return follow; },
  };
})();
