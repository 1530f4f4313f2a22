// The unit's page: share the unit's position from the browser, follow the victim's live
// position, and reload when a dispatch arrives or ends.
(function () {
  "use strict";
  const body = document.body;
  const csrf = (document.querySelector("input[name=csrfmiddlewaretoken]") || {}).value;
  const gps = document.getElementById("gps-state");
  let lastSent = 0;

  function send(pos) {
    const now = Date.now();
    if (now - lastSent < 10000) return;
    lastSent = now;
    fetch(body.dataset.positionUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      credentials: "same-origin",
      body: JSON.stringify({ lat: pos.coords.latitude, lon: pos.coords.longitude,
        accuracy_m: pos.coords.accuracy, fix_at: new Date(pos.timestamp).toISOString() }),
    }).then(function (r) { if (gps) gps.textContent = r.ok ? "● GPS" : "GPS ✖"; });
  }
  if (navigator.geolocation) {
    navigator.geolocation.watchPosition(send, function () { if (gps) gps.textContent = "GPS ✖"; },
      { enableHighAccuracy: true, maximumAge: 5000 });
  }

  function fmt(s) {
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }
  function tick() {
    const pos = document.getElementById("last-position");
    const age = document.getElementById("position-age");
    if (pos && age && pos.dataset.fixAt) age.textContent = fmt(Math.max(0, Math.floor((Date.now() - Date.parse(pos.dataset.fixAt)) / 1000)));
  }
  setInterval(tick, 1000);
  tick();

  function poll() {
    const pos = document.getElementById("last-position");
    const after = pos && pos.dataset.fixAt ? "?after=" + encodeURIComponent(pos.dataset.fixAt) : "";
    fetch(body.dataset.trackUrl + after, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
      const current = body.dataset.dispatch || "";
      if (String(d.dispatch || "") !== current) { location.reload(); return; }
      if (d.positions && d.positions.length && window.msaMap) {
        const last = window.msaMap.addFixes(d.positions);
        pos.dataset.fixAt = last.fix_at;
        const text = document.getElementById("last-position-text");
        if (text) text.textContent = last.lat.toFixed(5) + ", " + last.lon.toFixed(5) + " (± " + Math.round(last.accuracy_m) + " m)";
      }
    }).catch(function () { /* next poll */ });
  }
  setInterval(poll, 5000);
})();
