// The alarm queue: the live feed (msaLive.feed) refreshes the queue on every event; a sound
// repeats while any live alarm is unacknowledged (or a supervisor alert stands); the pop-up
// stays until its alarm is acknowledged; the rows' timers run against the targets, their
// positions show their age and the fixes missed; keyboard shortcuts. Needs live.js.
(function () {
  "use strict";
  const live = window.msaLive;
  const body = document.body;
  const targets = live.targets;
  const SILENT_AFTER_MISSED = 3; // three reports missed while tracking: the device is silent
  let selected = -1;

  function wrapData(name) {
    const el = document.querySelector("#queue .lanes-wrap");
    return el ? Number(el.dataset[name] || 0) : 0;
  }

  live.sound(function () {
    if (wrapData("unacknowledged") > 0) return "playing";
    return wrapData("alerts") > 0 ? "alert" : "off";
  });

  // A row is late when unacknowledged past the acknowledgement target, or with no unit on
  // scene past the on-scene target; it warns at 70 % of the latter.
  function tickTimers() {
    const now = Date.now();
    document.querySelectorAll(".timer[data-since]").forEach(function (el) {
      const row = el.closest(".incident-row");
      if (!row || row.dataset.status === "closed") return;
      const s = live.elapsed(el, now);
      el.textContent = live.fmt(s);
      const status = row.dataset.status;
      const running = status !== "received" && status !== "on_scene";
      const late = status === "received" ? s >= targets.ack : (running && s >= targets.onScene);
      el.classList.toggle("late", late);
      el.classList.toggle("warn", !late && running && s >= targets.onScene * 0.7);
    });
    document.querySelectorAll("#queue .fix-age[data-fix-at]").forEach(function (el) {
      const row = el.closest(".incident-row");
      const missed = live.positionAge(el, el.dataset.fixAt, now);
      const silent = row && row.dataset.tracking === "1" && missed >= SILENT_AFTER_MISSED;
      const badge = row && row.querySelector(".badge.silent");
      if (badge) badge.hidden = !silent;
      if (row) row.classList.toggle("silent", !!silent);
    });
  }
  live.everySecond(tickTimers);

  function rows() { return Array.from(document.querySelectorAll("#queue .incident-row")); }

  function select(i) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r, n) { r.classList.toggle("selected", n === selected); });
    all[selected].focus();
  }

  // The pop-up names an unacknowledged live alarm and stays until it is acknowledged; then
  // it names the next one still waiting (the longest waiting), or goes.
  function showPopup(reference) {
    const el = document.getElementById("alarm-popup");
    document.getElementById("alarm-popup-ref").textContent = reference;
    el.dataset.reference = reference;
    el.hidden = false;
  }
  function updatePopup() {
    const el = document.getElementById("alarm-popup");
    const waiting = document.querySelectorAll('#queue .lane-live .incident-row[data-status="received"]');
    const current = el.dataset.reference;
    const still = current && document.querySelector('#queue .lane-live .incident-row[data-status="received"][data-reference="' + current + '"]');
    if (still) return;
    if (waiting.length) showPopup(waiting[0].dataset.reference);
    else { el.hidden = true; delete el.dataset.reference; }
  }

  // The side lanes (test alarms, closed) stay as the operator opened or folded them: every
  // event re-renders the queue, which would otherwise fold an opened lane under her eyes.
  const laneOpen = {};
  // Only her own choice counts (a click or Enter/Space on the lane's summary, before the
  // browser toggles it), not a lane the server rendered open. The press is taken as the
  // choice too: a re-render between the button going down and up replaces the summary, the
  // browser then sends no click to it and nothing toggles, and the lane she opened would stay
  // folded (seen in CI under load).
  function laneChosen(e) {
    const summary = e.target.closest && e.target.closest("details[data-lane] > summary");
    if (summary) laneOpen[summary.parentElement.dataset.lane] = !summary.parentElement.open;
  }
  const queue = document.getElementById("queue");
  queue.addEventListener("pointerdown", laneChosen);
  queue.addEventListener("click", laneChosen);
  function restoreLanes() {
    document.querySelectorAll("#queue details[data-lane]").forEach(function (el) {
      if (el.dataset.lane in laneOpen) el.open = laneOpen[el.dataset.lane];
    });
  }

  const refreshQueue = live.refresher(body.dataset.queueUrl, "#queue", function () {
    restoreLanes();
    tickTimers();
    updatePopup();
    if (selected >= 0) select(selected);
  });

  function onEvent(event) {
    const log = (window.msaEvents = window.msaEvents || []);
    log.push(event);
    if (event.type === "alarm.raised" && event.data.lane === "live") {
      showPopup(event.data.incident);
      live.beep(880);
      const title = document.getElementById("alarm-popup").querySelector("strong").textContent;
      live.notify(title, event.data.incident);
      live.announce(title + " " + event.data.incident);
    }
    if (event.type === "incident.escalated") live.beep(440);
    if (event.type !== "alarm.located") refreshQueue();
  }

  const notifyButton = document.getElementById("notifications-enable");
  if (notifyButton) {
    if (!("Notification" in window)) notifyButton.hidden = true;
    else {
      notifyButton.dataset.permission = Notification.permission;
      notifyButton.addEventListener("click", function () {
        Notification.requestPermission().then(function (p) { notifyButton.dataset.permission = p; });
      });
    }
  }
  const help = document.getElementById("shortcuts");
  document.getElementById("help-toggle").addEventListener("click", function () { help.hidden = !help.hidden; });

  live.shortcuts(function (e) {
    const all = rows();
    if (e.key === "?") { help.hidden = !help.hidden; return true; }
    if (e.key === "j") { select(selected + 1); return true; }
    if (e.key === "k") { select(selected - 1); return true; }
    if (e.key === "u") {
      // The longest waiting: the queue puts it first.
      const unack = document.querySelector('#queue .lane-live .incident-row[data-status="received"]');
      if (unack) location.href = unack.href;
    } else if (e.key === "Enter" && selected < 0 && all.length) {
      // With a row selected, Enter follows its focused link (the browser's own default);
      // without, it opens the longest-waiting unacknowledged alarm (the queue's first row).
      const target = document.querySelector('#queue .lane-live .incident-row[data-status="received"]') || all[0];
      if (target) location.href = target.href;
    } else if (e.key === "Escape") { help.hidden = true; }
    return false;
  });

  updatePopup();
  const feed = live.feed({
    path: body.dataset.wsPath,
    lastSeq: body.dataset.lastSeq,
    storeKey: "msa.lastSeq." + body.dataset.centre,
    onEvent: onEvent,
    resync: function () { refreshQueue(); },
  });

  window.msaConsole = {
    disconnect: feed.disconnect,
    reconnect: feed.reconnect,
    events: function () { return (window.msaEvents || []).slice(); },
    lastSeq: feed.lastSeq,
    refresh: refreshQueue,
  };
})();
