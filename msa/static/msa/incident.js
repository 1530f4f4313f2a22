// The incident page: live position (alarm.located), the age of the last position, a live
// refresh of actions/units/timeline on every event of this incident, and shortcuts.
(function () {
  "use strict";
  const body = document.body;
  const reference = body.dataset.reference;
  const liveUrl = body.dataset.liveUrl;
  let lastSeq = Number(body.dataset.lastSeq || 0);
  let socket = null;
  let retryMs = 500;
  let pending = false;
  let again = false;

  function fmt(s) {
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  function tick() {
    const now = Date.now();
    const pos = document.getElementById("last-position");
    const age = document.getElementById("position-age");
    if (pos && age && pos.dataset.fixAt) {
      const s = Math.max(0, Math.floor((now - Date.parse(pos.dataset.fixAt)) / 1000));
      age.textContent = fmt(s);
      age.classList.toggle("late", s >= 60);
    }
    document.querySelectorAll(".timer.big[data-since]").forEach(function (el) {
      const end = el.dataset.onScene ? Date.parse(el.dataset.onScene) : now;
      const s = Math.max(0, Math.floor((end - Date.parse(el.dataset.since)) / 1000));
      el.textContent = fmt(s);
      el.classList.toggle("late", s >= 600);
    });
  }
  setInterval(tick, 1000);
  tick();

  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    htmx.ajax("GET", liveUrl, { target: "#incident-live", swap: "innerHTML" }).then(function () {
      pending = false;
      if (again) { again = false; refresh(); }
    }, function () { pending = false; });
  }

  function located(positions) {
    if (!positions || !positions.length) return;
    const last = window.msaMap ? window.msaMap.addFixes(positions) : positions[positions.length - 1];
    const pos = document.getElementById("last-position");
    if (!pos) return;
    pos.classList.remove("warning");
    pos.dataset.fixAt = last.fix_at;
    let text = document.getElementById("last-position-text");
    if (!text) {
      pos.textContent = "";
      text = document.createElement("span");
      text.id = "last-position-text";
      const age = document.createElement("strong");
      age.id = "position-age";
      pos.append(text, " · ", age);
    }
    text.textContent = last.lat.toFixed(5) + ", " + last.lon.toFixed(5) + " (± " + Math.round(last.accuracy_m) + " m)";
    tick();
  }

  // Another alarm while this page is open: a pop-up and a sound that repeats until the
  // operator goes back to the queue (or opens that alarm).
  let audio = null;
  let ringing = null;
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
    } catch (e) { /* no audio device: the pop-up still shows */ }
  }
  function otherAlarm(ref) {
    const pop = document.getElementById("alarm-popup");
    const link = document.getElementById("alarm-popup-ref");
    if (!pop || !link) return;
    link.textContent = ref;
    link.href = link.href.split("?")[0].replace(/\/$/, "") + "/incidents/" + encodeURIComponent(ref) + "/";
    pop.hidden = false;
    body.dataset.sound = "playing";
    beep();
    if (!ringing) ringing = setInterval(beep, 2000);
  }

  function onEvent(event) {
    if (typeof event.seq !== "number" || event.seq <= lastSeq) return;
    lastSeq = event.seq;
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

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + body.dataset.wsPath + "?since=" + lastSeq);
    socket.onopen = function () { retryMs = 500; body.dataset.live = "1"; };
    socket.onmessage = function (msg) {
      const data = JSON.parse(msg.data);
      if (data.type === "hello" || data.type === "pong") return;
      onEvent(data);
    };
    socket.onclose = function () {
      body.dataset.live = "0";
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  function submit(id) {
    const form = document.getElementById(id);
    if (form) form.requestSubmit();
  }

  const help = document.getElementById("shortcuts");
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target && e.target.tagName) || "";
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") {
      if (e.key === "Escape") e.target.blur();
      return;
    }
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
    } else return;
    e.preventDefault();
  });

  window.msaIncident = {
    disconnect: function () { if (socket) socket.close(); },
    lastSeq: function () { return lastSeq; },
  };
  connect();
})();
