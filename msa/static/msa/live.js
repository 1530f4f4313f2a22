// What every live page shares (the queue: console.js; an incident: incident.js; the unit's
// page: unit.js): the WebSocket that resumes from the last event seen, reconnecting with
// back-off and resyncing on reconnect; the page's own health (never silently deaf); the
// connection indicator; the targets from settings (data-* attributes of <body>, rendered by
// {% console_targets %}); the running timers; the alarm sound and its unlock; the keyboard
// guard. Plain script, no inline code: CSP-friendly.
(function () {
  "use strict";
  const body = document.body;
  const RETRY_FIRST_MS = 500;
  const RETRY_MAX_MS = 5000;
  const SOUND_EVERY_MS = 2000;
  const DEAF_AFTER_MIN_S = 10;

  // The targets in seconds, from MSA_ACK_TARGET_S, MSA_DISPATCH_TARGET_S and
  // MSA_ON_SCENE_TARGET_S. No default here: a page without them is a bug, said loudly.
  function setting(name) {
    const value = Number(body.dataset[name]);
    if (!body.dataset[name] || !Number.isFinite(value)) {
      throw new Error("msaLive: <body data-" + name.replace(/[A-Z]/g, function (c) { return "-" + c.toLowerCase(); }) + "> is missing");
    }
    return value;
  }
  const targets = Object.freeze({
    ack: setting("ackTarget"),
    dispatch: setting("dispatchTarget"),
    onScene: setting("onSceneTarget"),
  });
  // No heartbeat for this long: the page is deaf (10 s, or three beats if they are slower).
  const deafAfterMs = Math.max(DEAF_AFTER_MIN_S, 3 * setting("heartbeat")) * 1000;
  const reportIntervalS = setting("reportInterval");

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

  // --- Sound ---------------------------------------------------------------------------
  // Browsers keep audio suspended until a gesture on the page: the first click or key
  // (the "start shift" bar says so) resumes it; while it is suspended a red indicator
  // (#sound-blocked) stays. <body data-audio="running|blocked|none">.
  let audio = null;
  function audioContext() {
    if (!audio) {
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return null;
      try { audio = new Ctx(); } catch (e) { return null; }
      audio.onstatechange = showAudio;
    }
    return audio;
  }
  function showAudio() {
    const ctx = audio;
    const state = !ctx ? "none" : (ctx.state === "running" ? "running" : "blocked");
    body.dataset.audio = state;
    const blocked = document.getElementById("sound-blocked");
    if (blocked) blocked.hidden = state === "running";
  }
  function unlock() {
    const ctx = audioContext();
    if (ctx && ctx.state !== "running") ctx.resume().then(showAudio, showAudio);
    window.sessionStorage.setItem("msa.shift", "started");
    const bar = document.getElementById("start-shift");
    if (bar) bar.hidden = true;
    showAudio();
  }
  // On click, not pointerdown: the bars it hides must not move the page under the pointer
  // between the press and the release (the click would miss the row it was aimed at).
  document.addEventListener("click", unlock, { capture: true });
  document.addEventListener("keydown", unlock, { capture: true });

  function beep(freq) {
    const ctx = audioContext();
    showAudio();
    if (!ctx || ctx.state !== "running") return;
    try {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = "square";
      osc.frequency.value = freq || 880;
      gain.gain.value = 0.15;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio device: the visual alarm still shows */ }
  }

  // The alarm sound: every 2 s, state() says "playing" (an alarm waits: high tone),
  // "alert" (a supervisor alert stands: low tone) or "off"; a deaf or signed-out page
  // overrides it with its own tone ("deaf"). <body data-sound> shows what sounds.
  const TONES = { playing: 880, alert: 440, deaf: 330 };
  let pageSound = function () { return "off"; };
  function sound(state) { pageSound = state; }
  setInterval(function () {
    const now = health.state === "live" ? pageSound() : "deaf";
    body.dataset.sound = now;
    if (TONES[now]) beep(TONES[now]);
  }, SOUND_EVERY_MS);

  // Browser notifications, when the operator turned them on and the tab is in the background.
  function notify(title, text) {
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
    try { new Notification(title, { body: text, tag: text, requireInteraction: true }); } catch (e) { /* none */ }
  }

  // Screen readers: a new alarm is said aloud through the page's live region (#alarm-announcer,
  // aria-live="assertive", present and empty from the start so that assistive technology
  // watches it). Emptied first, so that the same words said twice are announced twice.
  function announce(text) {
    const region = document.getElementById("alarm-announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  // --- Health: never silently deaf ----------------------------------------------------
  // state: "live" (a heartbeat, an event or a good answer within deafAfterMs), "deaf" (none
  // for that long, or the socket refused) or "signed-out" (the sign-in ended). Anything but
  // live turns the whole page to an alarm: the red bar (#live-alarm) over the full width,
  // the deaf tone, the tab title, the time since the last good contact.
  const health = { state: "live", lastContact: Date.now(), reason: "" };
  const title = document.title;
  function t(name, fallback) {
    const el = document.getElementById("live-alarm");
    return (el && el.dataset[name]) || fallback;
  }
  function contact() {
    health.lastContact = Date.now();
    if (health.state !== "signed-out") setHealth("live", "");
  }
  function setHealth(state, reason) {
    health.state = state;
    health.reason = reason;
    body.dataset.health = state;
    renderHealth();
  }
  function renderHealth() {
    const el = document.getElementById("live-alarm");
    if (!el) return;
    const live = health.state === "live";
    el.hidden = live;
    document.title = live ? title : "⚠ " + (health.state === "signed-out" ? t("titleSignedOut", "SIGNED OUT") : t("titleDeaf", "NO ALARMS RECEIVED")) + " · " + title;
    if (live) return;
    const since = Math.max(0, Math.floor((Date.now() - health.lastContact) / 1000));
    const head = el.querySelector(".live-alarm-head");
    const age = el.querySelector(".live-alarm-age");
    const signIn = el.querySelector(".live-alarm-signin");
    if (head) head.textContent = health.state === "signed-out" ? t("textSignedOut", "Signed out") : t("textDeaf", "No connection");
    if (age) {
      const last = new Date(health.lastContact);
      age.textContent = fmt(since) + " (" + last.toLocaleTimeString([], { hour12: false }) + ")";
    }
    if (signIn) {
      signIn.hidden = health.state !== "signed-out";
      signIn.href = body.dataset.loginUrl + "?next=" + encodeURIComponent(location.pathname + location.search);
    }
  }
  setInterval(function () {
    if (health.state === "live" && Date.now() - health.lastContact >= deafAfterMs) setHealth("deaf", "silent");
    else renderHealth();
  }, 1000);

  // A refused or closed socket: the session is gone if the page's own URL now sends us to
  // sign in (a redirect, 401 or 403); otherwise the server is down or unreachable.
  function probeSession() {
    const url = body.dataset.probeUrl || location.pathname;
    return fetch(url, { credentials: "same-origin", redirect: "manual", cache: "no-store" }).then(function (r) {
      if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) setHealth("signed-out", "session");
      else if (r.ok && health.state === "signed-out") setHealth("deaf", "reconnecting");
      return r.ok;
    }, function () { return false; });
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
  //   options.resync    called with true after a reconnect (false the first time), and
  //                     when a heartbeat's head shows a gap: re-read what the page shows
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
      const ws = new WebSocket(scheme + location.host + options.path + "?since=" + lastSeq);
      let wasOpen = false;
      socket = ws;
      showConnection("connecting");
      ws.onopen = function () {
        wasOpen = true;
        retryMs = RETRY_FIRST_MS;
        showConnection("live");
        if (health.state === "signed-out") setHealth("deaf", "reconnecting");
        contact();
        if (options.resync) options.resync(opened);
        opened = true;
      };
      ws.onmessage = function (msg) {
        const data = JSON.parse(msg.data);
        contact();
        if (data.type === "heartbeat") {
          body.dataset.heartbeatSeq = String(data.last_seq);
          // The server replays before it beats: a head still ahead means a lost event.
          if (data.last_seq > lastSeq && options.resync) options.resync(true);
          return;
        }
        if (data.type === "hello" || data.type === "pong") return;
        deliver(data);
      };
      ws.onclose = function (e) {
        if (socket !== ws) return;
        showConnection("down");
        if (held) return;
        if (e.code === 4401 || e.code === 4403) setHealth("signed-out", "closed");
        else if (!wasOpen) {
          // Refused (server down, or the handshake turned away): an alarm at once.
          if (health.state === "live") setHealth("deaf", "refused");
          probeSession();
        } else {
          probeSession();
        }
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
  // A fragment that answers with the sign-in page means the session ended. Each request has
  // its own fetch with a deadline (never htmx.ajax, whose requests share one slot per page:
  // one that never settles would leave every later refresh queued behind it, the socket
  // live and the queue stale); a failed one is tried again until one succeeds. htmx.swap
  // keeps htmx's own rules for the fragment (hx-preserve, hx-* attributes processed).
  const REFRESH_DEADLINE_MS = 10000;
  const REFRESH_RETRY_MS = 2000;
  function refresher(url, target, after) {
    let pending = false;
    let again = false;
    let retry = null;
    function refresh() {
      if (pending) { again = true; return; }
      pending = true;
      if (retry) { clearTimeout(retry); retry = null; }
      const abort = new AbortController();
      const deadline = setTimeout(function () { abort.abort(); }, REFRESH_DEADLINE_MS);
      fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
        headers: { "HX-Request": "true" },
        signal: abort.signal,
      }).then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) return "signed-out";
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.text().then(function (html) {
          const el = document.querySelector(target);
          if (!el) return "gone";
          htmx.swap(el, html, { swapStyle: "innerHTML" });
          return document.querySelector(target + " #id_username, " + target + " #id_token") ? "signed-out" : "ok";
        });
      }).then(function (result) {
        if (result === "signed-out") setHealth("signed-out", "session");
        else if (result === "ok" && after) {
          try { after(); } catch (e) { window.setTimeout(function () { throw e; }); } // reported, never blocking
        }
        return result;
      }, function () {
        again = true; // not read: read it again shortly
        return "failed";
      }).then(function (result) {
        clearTimeout(deadline);
        pending = false;
        if (result === "signed-out" || !again) return;
        again = false;
        if (result === "failed") retry = setTimeout(refresh, REFRESH_RETRY_MS);
        else refresh();
      });
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

  // The age of a position, and the fixes missed at the report interval: "00:42 · 3 fixes
  // missed"; the element turns stale (class "late") after one missed fix.
  function positionAge(ageEl, fixAt, now) {
    const s = Math.max(0, Math.floor((now - Date.parse(fixAt)) / 1000));
    const missed = Math.max(0, Math.floor(s / reportIntervalS) - 1);
    ageEl.textContent = fmt(s) + (missed ? " · " + (ageEl.dataset[missed === 1 ? "textMissedOne" : "textMissed"] || "{n} fixes missed").replace("{n}", missed) : "");
    ageEl.classList.toggle("late", missed > 0);
    ageEl.dataset.missed = String(missed);
    return missed;
  }

  // Copy the text of the element named by a [data-copy] button (coordinates for a radio call).
  document.addEventListener("click", function (e) {
    const button = e.target.closest && e.target.closest("[data-copy]");
    if (!button) return;
    const source = document.getElementById(button.dataset.copy);
    if (!source) return;
    const text = source.textContent.trim();
    const done = function () { button.dataset.copied = text; };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, done);
    else {
      const range = document.createRange();
      range.selectNodeContents(source);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { document.execCommand("copy"); } catch (err) { /* selected: Ctrl+C copies */ }
      done();
    }
  });

  // The start-shift bar: shown until the first gesture of this browser session.
  // The audio context now, so that a browser that keeps it suspended shows the indicator
  // before the first alarm, not at it.
  audioContext();
  const startBar = document.getElementById("start-shift");
  if (startBar) startBar.hidden = window.sessionStorage.getItem("msa.shift") === "started" && !!audio && audio.state === "running";
  showAudio();
  body.dataset.health = "live";

  window.msaLive = Object.freeze({
    targets: targets,
    fmt: fmt,
    elapsed: elapsed,
    everySecond: everySecond,
    beep: beep,
    sound: sound,
    notify: notify,
    feed: feed,
    refresher: refresher,
    announce: announce,
    shortcuts: shortcuts,
    positionAge: positionAge,
    contact: contact,
    probeSession: probeSession,
    deaf: function (reason) { if (health.state === "live") setHealth("deaf", reason); },
    health: function () { return health.state; },
  });
})();
