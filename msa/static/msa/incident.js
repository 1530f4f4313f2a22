// The incident page: live position (alarm.located), the age of the last position, the
// elapsed time against the on-scene target, a live refresh of actions/units/timeline on
// every event of this incident, a pop-up and sound for any other alarm, and shortcuts.
// Needs live.js (and map.js for the map). No inline script.
(function () {
  "use strict";
  const live = window.msaLive;
  const body = document.body;
  const reference = body.dataset.reference;
  const SILENT_AFTER_MISSED = 3; // three reports missed while tracking: the device is silent

  function tick() {
    const now = Date.now();
    const pos = document.getElementById("last-position");
    const age = document.getElementById("position-age");
    if (pos && age && pos.dataset.fixAt) {
      const missed = live.positionAge(age, pos.dataset.fixAt, now);
      const silent = pos.dataset.tracking === "1" && missed >= SILENT_AFTER_MISSED;
      const badge = document.getElementById("device-silent");
      if (badge) badge.hidden = !silent;
      pos.classList.toggle("silent", silent);
      body.dataset.deviceSilent = silent ? "1" : "0";
    }
    // The elapsed time stops at the first unit on scene: the live panel says when.
    const panel = document.getElementById("live-panel");
    document.querySelectorAll(".timer.big[data-since]").forEach(function (el) {
      if (panel && panel.dataset.onScene && !el.dataset.onScene) el.dataset.onScene = panel.dataset.onScene;
      const s = live.elapsed(el, now);
      el.textContent = live.fmt(s);
      el.classList.toggle("late", s >= live.targets.onScene);
    });
  }
  live.everySecond(tick);

  const refresh = live.refresher(body.dataset.liveUrl, "#incident-live", function () { tick(); });

  function located(positions) {
    if (!positions || !positions.length) return;
    const last = window.msaMap ? window.msaMap.addFixes(positions) : positions[positions.length - 1];
    const pos = document.getElementById("last-position");
    if (!pos) return;
    pos.classList.remove("warning");
    pos.dataset.fixAt = last.fix_at;
    let coords = document.getElementById("last-position-coords");
    let accuracy = document.getElementById("last-position-accuracy");
    if (!coords) {
      pos.textContent = "";
      coords = document.createElement("span");
      coords.id = "last-position-coords";
      accuracy = document.createElement("span");
      accuracy.id = "last-position-accuracy";
      const copy = document.createElement("button");
      copy.type = "button";
      copy.className = "link copy";
      copy.dataset.copy = "last-position-coords";
      copy.textContent = "⧉";
      copy.title = pos.dataset.textCopy || "";
      copy.setAttribute("aria-label", pos.dataset.textCopy || "copy");
      const age = document.createElement("strong");
      age.id = "position-age";
      pos.append(coords, " ", accuracy, " ", copy, " · ", age);
    }
    coords.textContent = last.lat.toFixed(5) + ", " + last.lon.toFixed(5);
    accuracy.textContent = "(± " + Math.round(last.accuracy_m) + " m)";
    tick();
  }

  // Another alarm while this page is open: a pop-up and a sound that repeats until the
  // operator goes back to the queue (or opens that alarm).
  let otherWaiting = false;
  live.sound(function () { return otherWaiting ? "playing" : "off"; });
  function otherAlarm(ref) {
    const pop = document.getElementById("alarm-popup");
    const link = document.getElementById("alarm-popup-ref");
    if (!pop || !link) return;
    live.notify(pop.querySelector("strong").textContent, ref);
    live.announce(pop.querySelector("strong").textContent + " " + ref);
    link.textContent = ref;
    link.href = link.href.split("?")[0].replace(/\/$/, "") + "/incidents/" + encodeURIComponent(ref) + "/";
    pop.hidden = false;
    otherWaiting = true;
    body.dataset.sound = "playing";
    live.beep(880);
  }

  function onEvent(event) {
    if (event.type === "alarm.raised" && event.data && event.data.lane === "live" && event.data.incident !== reference) {
      otherAlarm(event.data.incident);
      return;
    }
    if (!event.data || event.data.incident !== reference) return;
    (window.msaEvents = window.msaEvents || []).push(event);
    if (event.type === "alarm.located") located(event.data.positions);
    else if (event.type === "alarm.raised" && event.data.position) located([event.data.position]);
    else refresh();
  }

  function submit(id) {
    const form = document.getElementById(id);
    if (form) form.requestSubmit();
  }

  const help = document.getElementById("shortcuts");
  live.shortcuts(function (e) {
    const k = e.key;
    if (k === "?") { help.hidden = !help.hidden; }
    else if (k === "a") submit("form-ack");
    else if (k === "d") submit("form-dispatch");
    else if (/^[1-5]$/.test(k)) {
      const boxes = document.querySelectorAll("#form-dispatch input[name=unit]");
      boxes.forEach(function (b) { b.checked = b.dataset.rank === k; });
      if (boxes.length >= Number(k)) submit("form-dispatch");
    }
    else if (k === "n") { const t = document.getElementById("note-text"); if (t) t.focus(); }
    else if (k === "o") { const s = document.getElementById("outcome-select"); if (s) s.focus(); }
    else if (k === "c") { const b = document.getElementById("btn-close"); if (b && !b.disabled) submit("form-close"); }
    else if (k === "m") { if (window.msaMap) window.msaMap.centre(); }
    else if (k === "q" || k === "Escape") {
      if (help && !help.hidden) help.hidden = true;
      else location.href = body.dataset.queueHref;
    } else return false;
    return true;
  }, { escapeLeavesField: true });

  const feed = live.feed({
    path: body.dataset.wsPath,
    lastSeq: body.dataset.lastSeq,
    onEvent: onEvent,
    // After a reconnect the replay brings the missed events; the panel is fetched afresh too.
    resync: function (reconnected) { if (reconnected) refresh(); },
  });

  window.msaIncident = {
    disconnect: feed.disconnect,
    reconnect: feed.reconnect,
    lastSeq: feed.lastSeq,
  };
})();
