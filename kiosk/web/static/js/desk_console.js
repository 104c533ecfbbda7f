/* What a receptionist glances at besides the queue: how long each person has waited and
 * how long the current ticket has been at the counter (in the site's time, from the
 * server's clock, not the PC's), today's figures for this counter, and whether the
 * printer and the phone line work. Loaded before desk.js, which uses K.minutesSince. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var counter = document.body.getAttribute("data-counter");
  var offset = 0;

  function syncClock(iso) {
    var t = Date.parse(iso || "");
    if (!isNaN(t)) offset = t - Date.now();
  }
  syncClock(document.body.getAttribute("data-now"));

  /** Whole minutes from `iso` to now on the server's clock (0 for the future or nothing). */
  K.minutesSince = function (iso) {
    var t = Date.parse(iso || "");
    return isNaN(t) ? 0 : Math.max(0, Math.floor((Date.now() + offset - t) / 60000));
  };

  function tick() {
    document.querySelectorAll(".q-waited[data-since]").forEach(function (cell) {
      cell.textContent = K.t("waited", { n: K.minutesSince(cell.getAttribute("data-since")) });
    });
    var card = document.getElementById("current");
    var since = card && card.getAttribute("data-since");
    var timer = document.getElementById("current-timer");
    if (timer) timer.textContent = since ? K.t("serving_for", { n: K.minutesSince(since) }) : "";
  }
  setInterval(tick, 10000);
  var card = document.getElementById("current");
  if (card) new MutationObserver(tick).observe(card, { attributes: true, attributeFilter: ["data-since"] });

  function fill(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value === null || value === undefined ? "–" : String(value);
  }

  function refreshToday() {
    K.api("GET", "/api/v1/counters/" + encodeURIComponent(counter)).then(function (body) {
      syncClock(body.now);
      var today = body.today || {};
      fill("today-served", today.served);
      fill("today-noshow", today.no_show);
      fill("today-wait", today.average_wait_min);
      tick();
    }, function () { /* the connection indicator says why */ });
  }

  function refreshDevices() {
    fetch("/healthz", { headers: { Accept: "application/json" } }).then(function (r) { return r.json(); }).then(function (h) {
      ["printer", "phone"].forEach(function (name) {
        var el = document.querySelector('#desk-devices [data-device="' + name + '"]');
        var d = (h.devices || {})[name] || {};
        var state = d.status === "ok" ? "ok" : (d.status === "off" || d.status === "disabled" ? "off" : "down");
        if (!el) return;
        el.className = "device-chip status-" + state;
        el.textContent = K.t("device_" + state, { device: K.t("device_" + name) });
      });
    }, function () { /* shown by the connection indicator */ });
  }

  var soon = K.debounce(refreshToday, 400);
  K.events({ "ticket.called": soon, "ticket.updated": soon, "printer.status": refreshDevices },
           { onOpen: function () { refreshToday(); refreshDevices(); } });
  setInterval(refreshDevices, 30000);
  refreshDevices();
})();
