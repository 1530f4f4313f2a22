// What every live console page shares (the queue: console.js; an incident: incident.js):
// the WebSocket that resumes from the last event seen, reconnecting with back-off and
// resyncing on reconnect; the connection indicator; the targets from settings (data-*
// attributes of <body>, rendered by {% console_targets %}); the running timers; the alarm
// sound; and the keyboard guard. Plain script, no inline code: CSP-friendly.
(function () {
  "use strict";
  const body = document.body;
  const RETRY_FIRST_MS = 500;
  const RETRY_MAX_MS = 10000;
  const SOUND_EVERY_MS = 2000;

  // The targets in seconds, from MSA_ACK_TARGET_S, MSA_DISPATCH_TARGET_S and
  // MSA_ON_SCENE_TARGET_S. No default here: a page without them is a bug, said loudly.
  function target(name) {
    const value = Number(body.dataset[name]);
    if (!body.dataset[name] || !Number.isFinite(value)) {
      throw new Error("msaLive: <body data-" + name.replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); }) + "> is missing");
    }
    return value;
  }
  const targets = Object.freeze({
    ack: target("ackTarget"),
    dispatch: target("dispatchTarget"),
    onScene: target("onSceneTarget"),
  });

  function fmt(s) {
    return String(Math.floor(s / 60)).padStart(2, "0") + ":" + String(s % 60).padStart(2, "0");
  }

  // Whole seconds from el's data-since to its data-on-scene (the clock stops when the first
  // unit is on scene: the 10-minute target is met or missed then), or to now.
  function elapsed(el, now) {
    const end = el.dataset.onScene ? Date.parse(el.dataset.onScene) : now;
    return Math.max(0, Math.floor((end - Date.parse(el.dataset.since)) / 1000));
  }

  // The running timers: tick() now and every second; the page calls it again after a swap.
  function everySecond(tick) {
    setInterval(tick, 1000);
    tick();
  }

  let audio = null;
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
    } catch (e) { /* no audio device: the visual alarm still shows */ }
  }

  // The alarm sound: every 2 s, state() says "playing" (an alarm waits: high tone),
  // "alert" (a supervisor alert stands: low tone) or "off"; <body data-sound> shows it.
  const TONES = { playing: 880, alert: 440 };
  function sound(state) {
    setInterval(function () {
      const now = state();
      body.dataset.sound = now;
      if (TONES[now]) beep(TONES[now]);
    }, SOUND_EVERY_MS);
  }

  // The connection state: <body data-live="1|0"> and the #connection indicator, whose
  // translated texts the template gives (data-text-connecting, -live, -down).
  function showConnection(state) {
    body.dataset.live = state === "live" ? "1" : "0";
    const el = document.getElementById("connection");
    if (!el) return;
    el.className = "conn conn-" + state;
    el.textContent = el.dataset["text" + state.charAt(0).toUpperCase() + state.slice(1)] || state;
  }

  // The live feed of a centre. Events arrive once each, in sequence order: the server
  // replays what came after ?since= and fills gaps; here a duplicate is dropped.
  //   options.path      the socket's path (/ws/console/<centre>/)
  //   options.lastSeq   the sequence number the page was rendered at
  //   options.storeKey  optional: keep the last seq in sessionStorage, so a reload resumes
  //   options.onEvent   called with each new event
  //   options.resync    called on every open with true after a reconnect (false the first
  //                     time): what the page shows may be older than the replayed events
  function feed(options) {
    const store = options.storeKey ? window.sessionStorage : null;
    let lastSeq = Number((store && store.getItem(options.storeKey)) || options.lastSeq || 0);
    let socket = null;
    let retryMs = RETRY_FIRST_MS;
    let opened = false;
    let held = false; // disconnect(): stay down until reconnect()

    function deliver(event) {
      if (typeof event.seq !== "number" || event.seq <= lastSeq) return;
      lastSeq = event.seq;
      if (store) store.setItem(options.storeKey, String(lastSeq));
      body.dataset.lastSeqSeen = String(lastSeq);
      options.onEvent(event);
    }

    function connect() {
      const scheme = location.protocol === "https:" ? "wss://" : "ws://";
      socket = new WebSocket(scheme + location.host + options.path + "?since=" + lastSeq);
      showConnection("connecting");
      socket.onopen = function () {
        retryMs = RETRY_FIRST_MS;
        showConnection("live");
        if (options.resync) options.resync(opened);
        opened = true;
      };
      socket.onmessage = function (msg) {
        const data = JSON.parse(msg.data);
        if (data.type === "hello" || data.type === "pong") return;
        deliver(data);
      };
      socket.onclose = function () {
        showConnection("down");
        if (held) return;
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
      };
    }

    connect();
    return {
      disconnect: function () { held = true; if (socket) socket.close(); },
      reconnect: function () { if (held) { held = false; connect(); } },
      lastSeq: function () { return lastSeq; },
    };
  }

  // One fragment refresh at a time: a request asked for while one runs is run once after it.
  function refresher(url, target, after) {
    let pending = false;
    let again = false;
    function refresh() {
      if (pending) { again = true; return; }
      pending = true;
      htmx.ajax("GET", url, { target: target, swap: "innerHTML" }).then(function () {
        pending = false;
        if (after) after();
        if (again) { again = false; refresh(); }
      }, function () { pending = false; });
    }
    return refresh;
  }

  // Shortcuts never fire while the operator types in a field (Escape there leaves the field
  // when options.escapeLeavesField), nor with Ctrl/Alt/Meta. handler(e) returns true for a
  // key it used, whose default is then prevented.
  function shortcuts(handler, options) {
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const el = e.target;
      const tag = (el && el.tagName) || "";
      if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (el && el.isContentEditable)) {
        if (e.key === "Escape" && options && options.escapeLeavesField) el.blur();
        return;
      }
      if (handler(e)) e.preventDefault();
    });
  }

  window.msaLive = Object.freeze({
    targets: targets,
    fmt: fmt,
    elapsed: elapsed,
    everySecond: everySecond,
    beep: beep,
    sound: sound,
    feed: feed,
    refresher: refresher,
    shortcuts: shortcuts,
  });
})();
