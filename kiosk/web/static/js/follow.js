/* A resident's phone following one ticket (/t/<cap>): number, service, people ahead and
 * wait, live from the public event stream; "only N ahead" notice; a full-screen "please go
 * to counter N" with a chime and vibration (switched on by one tap, as browsers require)
 * when the number is called; the final states. The stream carries queue facts of every
 * ticket: the page picks its own by number and, for the others of its service, reads its
 * place again. After the phone sleeps it reconnects from the last event it saw. */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("follow-data").textContent);
  var S = data.strings;
  var cap = data.cap;
  var ticket = data.ticket;
  var STREAM = "/api/v1/events?types=ticket.called,ticket.updated";
  var QUEUED = { waiting: true, transferred: true };

  var $ = function (id) { return document.getElementById(id); };
  var fill = function (s, vars) {
    Object.keys(vars || {}).forEach(function (k) { s = s.split("{" + k + "}").join(String(vars[k])); });
    return s;
  };

  /* ---- showing the ticket -------------------------------------------------------- */

  var shownCall = null;
  var nearAnnounced = false;
  var rendered = false;

  function render() {
    var queued = !!QUEUED[ticket.status];
    $("f-card").setAttribute("data-status", ticket.status);
    $("f-number").textContent = ticket.number;
    $("f-service").textContent = data.lang === "en" ? ticket.service_name_en : ticket.service_name_zh;
    $("f-alerts").hidden = !(queued || ticket.status === "called");
    $("f-stats").hidden = !queued;
    $("f-ahead").textContent = String(ticket.people_ahead || 0);
    var secs = ticket.estimated_wait_s || 0;
    $("f-wait").textContent = String(secs > 0 ? Math.max(1, Math.ceil(secs / 60)) : 0);
    var soon = $("f-soon");
    if (queued && ticket.people_ahead === 0) {
      soon.textContent = S.next;
      soon.hidden = false;
    } else if (queued && ticket.people_ahead <= data.reminder_ahead) {
      soon.textContent = fill(S.soon, { n: ticket.people_ahead });
      soon.hidden = false;
    } else {
      nearAnnounced = false;
      soon.hidden = true;
    }
    // crossing into "only N ahead": one short buzz and chime, once
    if (queued && ticket.people_ahead <= data.reminder_ahead && !nearAnnounced) {
      nearAnnounced = true;
      if (rendered) { vibrate(300); chime(1); }
    }
    rendered = true;
    var state = $("f-state");
    var text = null;
    if (ticket.status === "called") text = fill(S.go_to_counter, { counter: ticket.counter });
    else if (ticket.status === "serving") text = fill(S.serving, { counter: ticket.counter });
    else if (S[ticket.status] && !queued) text = S[ticket.status];
    state.hidden = !text;
    state.textContent = text || "";
    if (ticket.status === "called") showCalled(ticket.counter, ticket.called_at || "");
    else $("f-called").hidden = true;
  }

  function showCalled(counter, key) {
    $("f-called-number").textContent = ticket.number;
    $("f-called-text").textContent = fill(S.go_to_counter, { counter: counter });
    $("f-called-sub").textContent = fill(S.go_to_counter_sub, { number: ticket.number });
    var fresh = shownCall !== key;
    shownCall = key;
    if (fresh || $("f-called").hidden) {
      $("f-called").hidden = false;
      if (fresh) ring();
    }
  }

  $("f-called-ok").addEventListener("click", function () { $("f-called").hidden = true; });

  /* ---- sound and vibration (one tap) ---------------------------------------------- */

  var audio = null;

  function tone(at, freq, length) {
    var osc = audio.createOscillator();
    var gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.5, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + length + 0.05);
  }

  function chime(times) {
    if (!audio) return;
    var t = audio.currentTime + 0.05;
    for (var i = 0; i < times; i++, t += 1.2) {
      tone(t, 880, 0.45);
      tone(t + 0.4, 660, 0.7);
    }
  }

  function vibrate(pattern) {
    // browsers refuse (and log) vibration before the person has tapped the page
    var active = !navigator.userActivation || navigator.userActivation.hasBeenActive;
    if (navigator.vibrate && active) {
      try { navigator.vibrate(pattern); } catch (e) { /* not allowed yet */ }
    }
  }

  function ring() {
    vibrate([500, 200, 500, 200, 800]);
    chime(3);
    document.body.setAttribute("data-rang", String(Date.now()));
  }

  $("f-alerts-on").addEventListener("click", function () {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx && !audio) audio = new Ctx();
    if (audio && audio.state === "suspended") audio.resume();
    chime(1);
    vibrate(200);
    this.setAttribute("aria-pressed", "true");
    this.textContent = S.alerts_on;
  });

  /* ---- keeping up ----------------------------------------------------------------- */

  var refreshTimer = null;

  function refresh() {
    refreshTimer = null;
    fetch("/api/v1/t/" + encodeURIComponent(cap), { cache: "no-store", credentials: "omit" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (!body) return;
        ticket = body;
        render();
      }, function () { /* the stream's state says we are offline */ });
  }

  /** Read the place again soon: spread over a second so that a call does not bring every
   * phone in the hall at the same instant. */
  function refreshSoon(spread) {
    if (refreshTimer) return;
    refreshTimer = setTimeout(refresh, 100 + Math.random() * (spread || 900));
  }

  function onEvent(name, ev) {
    var fact;
    try { fact = JSON.parse(ev.data); } catch (e) { return; }
    if (ev.lastEventId) lastId = ev.lastEventId;
    if (!fact) return;
    if (fact.number === ticket.number) {
      if (name === "ticket.called" && fact.status === "called") {
        ticket.status = "called";
        ticket.counter = fact.counter;
        ticket.called_at = fact.called_at || String(ev.lastEventId);
        render();
      }
      refreshSoon(200);
    } else if (QUEUED[ticket.status] && fact.service === ticket.service) {
      refreshSoon();
    }
  }

  var source = null;
  var lastId = null;
  var retry = null;
  var opened = false;

  function setLive(state) {
    $("f-live").setAttribute("data-live", state);
    $("f-live-text").textContent = S[state] || state;
  }

  function connect() {
    if (source) source.close();
    clearTimeout(retry);
    source = new EventSource(STREAM + (lastId ? "&last_id=" + encodeURIComponent(lastId) : ""));
    source.onopen = function () {
      setLive("live");
      // Back after a gap: the events since the last one seen are replayed, but a gap longer
      // than the server keeps (or before the first event) is covered by reading the ticket.
      if (opened) refreshSoon(1500);
      opened = true;
    };
    source.onerror = function () {
      setLive("reconnecting");
      if (source && source.readyState === EventSource.CLOSED) retry = setTimeout(connect, 3000);
    };
    ["ticket.called", "ticket.updated"].forEach(function (name) {
      source.addEventListener(name, function (ev) { onEvent(name, ev); });
    });
  }

  // A phone that slept may hold a stream that died unnoticed: on waking, reconnect from
  // the last event seen and read the ticket again.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "visible") return;
    connect();
    refresh();
  });
  window.addEventListener("online", function () { connect(); refresh(); });
  setInterval(function () { if (QUEUED[ticket.status]) refreshSoon(5000); }, 60000);

  render();
  if (ticket.status !== "done" && ticket.status !== "expired" && ticket.status !== "cancelled") connect();
  else $("f-live").hidden = true;
})();
