// The alarm queue: a WebSocket that resumes from the last event it saw, and a sound
// that repeats while any live alarm is unacknowledged. No inline script: CSP-friendly.
(function () {
  "use strict";
  const body = document.body;
  const queueUrl = body.dataset.queueUrl;
  const wsPath = body.dataset.wsPath;
  const storeKey = "msa.lastSeq." + body.dataset.centre;
  let lastSeq = Number(sessionStorage.getItem(storeKey) || body.dataset.lastSeq || 0);
  let socket = null;
  let retryMs = 500;
  let audio = null;
  let refreshPending = false;

  function setConnection(state, text) {
    const el = document.getElementById("connection");
    el.className = "conn conn-" + state;
    el.textContent = text;
  }

  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "square";
      osc.frequency.value = 880;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio device: the visual pop-up still shows */ }
  }

  function unacknowledged() {
    const lanes = document.querySelector("#queue .lanes");
    return lanes ? Number(lanes.dataset.unacknowledged || 0) : 0;
  }

  setInterval(function () {
    const pending = unacknowledged() > 0;
    body.dataset.sound = pending ? "playing" : "off";
    if (pending) beep();
  }, 2000);

  function tickTimers() {
    const now = Date.now();
    document.querySelectorAll(".timer[data-since]").forEach(function (el) {
      const row = el.closest(".incident-row");
      if (!row || row.dataset.status === "closed") return;
      const s = Math.max(0, Math.floor((now - Date.parse(el.dataset.since)) / 1000));
      el.textContent = String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
      el.classList.toggle("late", row.dataset.status === "received" ? s >= 30 : s >= 600);
    });
  }
  setInterval(tickTimers, 1000);
  tickTimers();

  function refreshQueue() {
    if (refreshPending) return;
    refreshPending = true;
    htmx.ajax("GET", queueUrl, { target: "#queue", swap: "innerHTML" }).then(function () {
      refreshPending = false;
      tickTimers();
    }, function () { refreshPending = false; });
  }

  function popup(reference) {
    const el = document.getElementById("alarm-popup");
    document.getElementById("alarm-popup-ref").textContent = reference;
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
      beep();
    }
    refreshQueue();
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
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  document.getElementById("sound-enable").addEventListener("click", function () {
    beep();
    this.hidden = true;
  });

  window.msaConsole = {
    disconnect: function () { if (socket) socket.close(); },
    lastSeq: function () { return lastSeq; },
  };
  connect();
})();
