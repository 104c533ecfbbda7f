/* The hall display: now serving per counter, the latest call as a banner, recent calls
 * and waiting counts. Live over SSE; a fresh board is fetched on every (re)connection,
 * and a newly called number flashes. */
(function () {
  "use strict";

  var K = window.Kiosk;
  var bilingual = K.lang !== "en";
  var RECENT_ROWS = 6;

  var banner = document.getElementById("banner");
  var bannerMain = document.getElementById("banner-main");
  var bannerSub = document.getElementById("banner-sub");
  var recent = document.getElementById("recent");
  var indicator = K.liveIndicator(document.getElementById("live"));

  function serviceName(t) {
    return bilingual ? t.service_name_zh : t.service_name_en;
  }

  function flash(el) {
    if (!el) return;
    el.classList.remove("flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("flash");
  }

  function renderCounters(counters) {
    (counters || []).forEach(function (c) {
      var card = document.querySelector('.d-counter[data-counter="' + c.id + '"]');
      if (!card) return;
      var t = c.ticket;
      card.classList.toggle("is-idle", !t);
      var numberEl = card.querySelector('[data-field="number"]');
      numberEl.textContent = t ? t.number : "—";
      numberEl.classList.toggle("is-long", !!t && t.number.length > 4);
      var stateEl = card.querySelector('[data-field="state"]');
      var status = t ? t.status : "";
      stateEl.setAttribute("data-state", status);
      stateEl.textContent = "";
      if (status === "called" || status === "serving") {
        stateEl.appendChild(document.createTextNode(K.t("state_" + status)));
        if (bilingual) stateEl.appendChild(K.el("span", { lang: "en", text: " " + K.t("state_" + status + "_en") }));
      }
      var service = card.querySelector('[data-field="service"]');
      service.textContent = "";
      if (t) {
        service.appendChild(document.createTextNode(serviceName(t)));
        if (bilingual) {
          service.appendChild(document.createTextNode(" "));
          service.appendChild(K.el("span", { class: "t-sub", lang: "en", text: t.service_name_en }));
        }
      } else {
        service.textContent = K.t("idle");
      }
    });
  }

  function renderBanner(t) {
    var active = t && (t.status === "called" || t.status === "serving");
    banner.classList.toggle("is-empty", !active);
    if (active) {
      bannerMain.textContent = K.t("call_line", { number: t.number, counter: t.counter });
      if (bannerSub) bannerSub.textContent = K.t("call_line_en", { number: t.number, counter: t.counter });
    } else {
      bannerMain.textContent = K.t("welcome");
      if (bannerSub) bannerSub.textContent = K.t("welcome_en");
    }
  }

  function renderRecent(calls) {
    recent.textContent = "";
    if (!calls || !calls.length) {
      recent.appendChild(K.el("li", { class: "d-empty", text: K.t("no_calls") }));
      return;
    }
    calls.slice(0, RECENT_ROWS).forEach(function (t) {
      recent.appendChild(K.el("li", { class: "d-recent-row is-" + t.status }, [
        K.el("span", { class: "d-recent-no", text: t.number }),
        K.el("span", { class: "d-recent-arrow", "aria-hidden": "true", text: "→" }),
        K.el("span", { class: "d-recent-counter", text: K.t("counter", { counter: t.counter || "–" }) }),
      ]));
    });
  }

  function renderWaiting(services) {
    (services || []).forEach(function (s) {
      var el = document.querySelector('#waiting [data-service="' + s.letter + '"] [data-field="waiting"]');
      if (el) el.textContent = String(s.waiting);
      var eta = document.querySelector('#waiting [data-service="' + s.letter + '"] [data-field="eta"]');
      if (eta && s.estimated_wait_s !== undefined) {
        eta.textContent = s.waiting ? K.t("eta", { n: Math.max(1, Math.round(s.estimated_wait_s / 60)) }) : "";
      }
    });
  }

  function render(board) {
    if (!board) return;
    renderCounters(board.counters);
    renderBanner(board.recent_calls && board.recent_calls[0]);
    renderRecent(board.recent_calls);
    renderWaiting(board.services);
  }

  var pendingFlash = {};

  function refresh() {
    return K.api("GET", "/api/v1/board").then(function (board) {
      render(board);
      Object.keys(pendingFlash).forEach(function (counter) {
        flash(document.querySelector('.d-counter[data-counter="' + counter + '"]'));
        flash(banner);
        var first = recent.querySelector(".d-recent-row");
        flash(first);
      });
      pendingFlash = {};
    }, function () { /* the indicator shows the connection state; keep the last board */ });
  }

  var refreshSoon = K.debounce(refresh, 150);

  function onCalled(ticket) {
    if (ticket && ticket.counter) pendingFlash[ticket.counter] = true;
    refreshSoon();
  }

  K.events(
    { "ticket.called": onCalled, "ticket.updated": refreshSoon, "ticket.issued": refreshSoon },
    { onOpen: refresh, onState: indicator }
  );

  // Keep the board from going stale if the hall display is left for days: a full
  // reload in the small hours picks up new code and frees memory.
  setInterval(function () {
    var now = new Date();
    if (now.getHours() === 3 && now.getMinutes() === 30) location.reload();
  }, 60000);
})();
