// The alarm queue: a WebSocket that resumes from the last event it saw, a sound that
// repeats while any live alarm is unacknowledged (or a supervisor alert stands), running
// timers against the targets, and keyboard shortcuts. No inline script: CSP-friendly.
(function () {
  "use strict";
  const body = document.body;
  const queueUrl = body.dataset.queueUrl;
  const wsPath = body.dataset.wsPath;
  const ackTarget = Number(body.dataset.ackTarget || 30);
  const onSceneTarget = Number(body.dataset.onSceneTarget || 600);
  const storeKey = "msa.lastSeq." + body.dataset.centre;
  let lastSeq = Number(sessionStorage.getItem(storeKey) || body.dataset.lastSeq || 0);
  let socket = null;
  let retryMs = 500;
  let audio = null;
  let refreshPending = false;
  let refreshAgain = false;
  let selected = -1;
  let held = false;  // msaConsole.disconnect(): stay down until msaConsole.reconnect()

  function setConnection(state, text) {
    const el = document.getElementById("connection");
    el.className = "conn conn-" + state;
    el.textContent = text;
  }

  function beep(freq) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = freq || 880;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio device: the visual pop-up still shows */ }
  }

  function wrapData(name) {
    const el = document.querySelector("#queue .lanes-wrap");
    return el ? Number(el.dataset[name] || 0) : 0;
  }

  setInterval(function () {
    const pending = wrapData("unacknowledged") > 0;
    const alerts = wrapData("alerts") > 0;
    body.dataset.sound = pending ? "playing" : alerts ? "alert" : "off";
    if (pending) beep(880);
    else if (alerts) beep(440);
  }, 2000);

  function fmt(s) {
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function tickTimers() {
    const now = Date.now();
    document.querySelectorAll(".timer[data-since]").forEach(function (el) {
      const row = el.closest(".incident-row");
      if (!row || row.dataset.status === "closed") return;
      // The clock runs to the first unit on scene: the 10-minute target is met or missed then.
      const end = el.dataset.onScene ? Date.parse(el.dataset.onScene) : now;
      const s = Math.max(0, Math.floor((end - Date.parse(el.dataset.since)) / 1000));
      el.textContent = fmt(s);
      const status = row.dataset.status;
      const late = status === "received" ? s >= ackTarget : (status !== "on_scene" && s >= onSceneTarget);
      el.classList.toggle("late", late);
      el.classList.toggle("warn", !late && status !== "received" && status !== "on_scene" && s >= onSceneTarget * 0.7);
    });
  }
  setInterval(tickTimers, 1000);
  tickTimers();

  function rows() { return Array.from(document.querySelectorAll("#queue .incident-row")); }

  function select(i) {
    const all = rows();
    if (!all.length) return;
    selected = Math.max(0, Math.min(all.length - 1, i));
    all.forEach(function (r, n) { r.classList.toggle("selected", n === selected); });
    all[selected].focus();
  }

  function refreshQueue() {
    if (refreshPending) { refreshAgain = true; return; }
    refreshPending = true;
    htmx.ajax("GET", queueUrl, { target: "#queue", swap: "innerHTML" }).then(function () {
      refreshPending = false;
      tickTimers();
      if (selected >= 0) select(selected);
      if (refreshAgain) { refreshAgain = false; refreshQueue(); }
    }, function () { refreshPending = false; });
  }

  function popup(reference) {
    const el = document.getElementById("alarm-popup");
    document.getElementById("alarm-popup-ref").textContent = reference;
    el.dataset.reference = reference;
    el.hidden = false;
    setTimeout(function () { el.hidden = true; }, 8000);
  }

  function onEvent(event) {
    if (typeof event.seq !== "number" || event.seq <= lastSeq) return;
    lastSeq = event.seq;
    sessionStorage.setItem(storeKey, String(lastSeq));
    body.dataset.lastSeqSeen = String(lastSeq);
    const log = (window.msaEvents = window.msaEvents || []);
    log.push(event);
    if (event.type === "alarm.raised" && event.data.lane === "live") {
      popup(event.data.incident);
      beep(880);
    }
    if (event.type === "incident.escalated") beep(440);
    if (event.type !== "alarm.located") refreshQueue();
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + wsPath + "?since=" + lastSeq);
    setConnection("connecting", body.dataset.textConnecting || "connecting…");
    socket.onopen = function () {
      retryMs = 500;
      setConnection("live", "● live");
      refreshQueue();
    };
    socket.onmessage = function (msg) {
      const data = JSON.parse(msg.data);
      if (data.type === "hello" || data.type === "pong") return;
      onEvent(data);
    };
    socket.onclose = function () {
      setConnection("down", "✖ connection lost — reconnecting");
      if (held) return;
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  document.getElementById("sound-enable").addEventListener("click", function () {
    beep(880);
    this.hidden = true;
  });
  const help = document.getElementById("shortcuts");
  document.getElementById("help-toggle").addEventListener("click", function () { help.hidden = !help.hidden; });

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
    const all = rows();
    if (e.key === "?") { help.hidden = !help.hidden; e.preventDefault(); }
    else if (e.key === "j") { select(selected + 1); e.preventDefault(); }
    else if (e.key === "k") { select(selected - 1); e.preventDefault(); }
    else if (e.key === "u") {
      const unack = document.querySelectorAll('#queue .lane-live .incident-row[data-status="received"]');
      if (unack.length) location.href = unack[unack.length - 1].href;
    } else if (e.key === "Enter" && selected < 0 && all.length) {
      const pop = document.getElementById("alarm-popup");
      const ref = !pop.hidden && pop.dataset.reference;
      const target = ref ? document.querySelector('.incident-row[data-reference="' + ref + '"]') : all[0];
      if (target) location.href = target.href;
    } else if (e.key === "Escape") { help.hidden = true; }
  });

  window.msaConsole = {
    disconnect: function () { held = true; if (socket) socket.close(); },
    reconnect: function () { if (held) { held = false; connect(); } },
    events: function () { return (window.msaEvents || []).slice(); },
    lastSeq: function () { return lastSeq; },
  };
  connect();
})();
