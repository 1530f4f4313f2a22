// The alarm queue: the live feed (msaLive.feed) refreshes the queue on every event; a sound
// repeats while any live alarm is unacknowledged (or a supervisor alert stands); the rows'
// timers run against the targets; keyboard shortcuts. Needs live.js. No inline script.
(function () {
  "use strict";
  const live = window.msaLive;
  const body = document.body;
  const targets = live.targets;
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

  const refreshQueue = live.refresher(body.dataset.queueUrl, "#queue", function () {
    tickTimers();
    if (selected >= 0) select(selected);
  });

  function popup(reference) {
    const el = document.getElementById("alarm-popup");
    document.getElementById("alarm-popup-ref").textContent = reference;
    el.dataset.reference = reference;
    el.hidden = false;
    setTimeout(function () { el.hidden = true; }, 8000);
  }

  function onEvent(event) {
    const log = (window.msaEvents = window.msaEvents || []);
    log.push(event);
    if (event.type === "alarm.raised" && event.data.lane === "live") {
      popup(event.data.incident);
      live.beep(880);
    }
    if (event.type === "incident.escalated") live.beep(440);
    if (event.type !== "alarm.located") refreshQueue();
  }

  document.getElementById("sound-enable").addEventListener("click", function () {
    live.beep(880);
    this.hidden = true;
  });
  const help = document.getElementById("shortcuts");
  document.getElementById("help-toggle").addEventListener("click", function () { help.hidden = !help.hidden; });

  live.shortcuts(function (e) {
    const all = rows();
    if (e.key === "?") { help.hidden = !help.hidden; return true; }
    if (e.key === "j") { select(selected + 1); return true; }
    if (e.key === "k") { select(selected - 1); return true; }
    if (e.key === "u") {
      const unack = document.querySelectorAll('#queue .lane-live .incident-row[data-status="received"]');
      if (unack.length) location.href = unack[unack.length - 1].href;
    } else if (e.key === "Enter" && selected < 0 && all.length) {
      // With a row selected, Enter follows its focused link (the browser's own default).
      const pop = document.getElementById("alarm-popup");
      const ref = !pop.hidden && pop.dataset.reference;
      const target = ref ? document.querySelector('.incident-row[data-reference="' + ref + '"]') : all[0];
      if (target) location.href = target.href;
    } else if (e.key === "Escape") { help.hidden = true; }
    return false;
  });

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
  };
})();
