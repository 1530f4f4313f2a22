// The unit's page: share the unit's position from the browser, follow the victim's live
// position, reload when a dispatch arrives or ends, and sound while a new dispatch waits
// for the crew (until they press "en route"). Its health is live.js's: every good answer of
// the track poll is a contact; none for 10 s, or a poll sent to sign in, is the alarm.
(function () {
  "use strict";
  const live = window.msaLive;
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

  // A dispatch the crew has not taken up yet rings, over and over.
  live.sound(function () { return body.dataset.dispatchStatus === "assigned" ? "playing" : "off"; });

  // ... and is said once to a screen reader (the page reloads when it arrives: the live region
  // speaks after the load, once per dispatch).
  const announcer = document.getElementById("alarm-announcer");
  if (announcer && announcer.dataset.announce) {
    const key = "msa.announced." + announcer.dataset.announceKey;
    if (!window.sessionStorage.getItem(key)) {
      window.sessionStorage.setItem(key, "1");
      setTimeout(function () { live.announce(announcer.dataset.announce); }, 500);
    }
  }

  function tick() {
    const pos = document.getElementById("last-position");
    const age = document.getElementById("position-age");
    if (pos && age && pos.dataset.fixAt) live.positionAge(age, pos.dataset.fixAt, Date.now());
  }
  live.everySecond(tick);

  function poll() {
    const pos = document.getElementById("last-position");
    const after = pos && pos.dataset.fixAt ? "?after=" + encodeURIComponent(pos.dataset.fixAt) : "";
    fetch(body.dataset.trackUrl + after, { credentials: "same-origin", redirect: "manual", cache: "no-store" }).then(function (r) {
      if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) { live.probeSession(); return null; }
      return r.ok ? r.json() : null;
    }).then(function (d) {
      if (!d) return;
      live.contact();
      const current = body.dataset.dispatch || "";
      if (String(d.dispatch || "") !== current) { location.reload(); return; }
      if (d.positions && d.positions.length && window.msaMap) {
        const last = window.msaMap.addFixes(d.positions);
        pos.dataset.fixAt = last.fix_at;
        const coords = document.getElementById("last-position-coords");
        if (coords) coords.textContent = last.lat.toFixed(5) + ", " + last.lon.toFixed(5);
      }
    }).catch(function () { /* no answer: no contact; live.js raises the alarm after 10 s */ });
  }
  setInterval(poll, 3000);
  poll();
})();
