/* The residents' touchscreen: pick a service (optionally priority), get a ticket with
 * its number, place in the queue, wait estimate, QR code and print status; back to the
 * start after a while or on a tap. Waiting counts follow the queue live. */
(function () {
  "use strict";

  var K = window.Kiosk;
  var RESULT_SECONDS = 20;
  var ERROR_SECONDS = 15;
  var IDLE_SECONDS = 90;

  var home = document.getElementById("home");
  var busy = document.getElementById("busy");
  var result = document.getElementById("result");
  var priorityBtn = document.getElementById("priority");
  var paperlessBtn = document.getElementById("paperless");
  var tiles = Array.prototype.slice.call(document.querySelectorAll(".tile[data-letter]"));
  var doneBtn = document.getElementById("r-done");
  var countdownEl = document.getElementById("r-countdown");
  var errorBox = document.getElementById("k-error");
  var errorText = document.getElementById("k-error-text");
  var errorOk = document.getElementById("k-error-ok");
  var bilingual = K.lang !== "en";
  var defaultLang = document.body.getAttribute("data-default-lang") || "zh_CN";

  var priority = false;
  var paperless = false;
  var inFlight = false;
  var countdown = null;
  var errorTimer = null;

  function setPriority(on) {
    priority = !!on;
    priorityBtn.setAttribute("aria-pressed", priority ? "true" : "false");
  }

  priorityBtn.addEventListener("click", function () {
    setPriority(!priority);
  });

  /** "Scan instead of printing": the next ticket makes no print job. */
  function setPaperless(on) {
    paperless = !!on;
    if (paperlessBtn) paperlessBtn.setAttribute("aria-pressed", paperless ? "true" : "false");
  }

  if (paperlessBtn) paperlessBtn.addEventListener("click", function () {
    setPaperless(!paperless);
  });

  function setBusy(on) {
    busy.hidden = !on;
    tiles.forEach(function (t) {
      t.disabled = on;
    });
    priorityBtn.disabled = on;
    if (paperlessBtn) paperlessBtn.disabled = on;
  }

  function fill(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent = text;
    return el;
  }

  /* ---- issuing -------------------------------------------------------------------- */

  function issue(letter) {
    if (inFlight) return;
    inFlight = true;
    setBusy(true);
    K.api("POST", "/api/v1/tickets", Object.assign({ service: letter, priority: priority, paperless: paperless },
                                               K.ticketExtras ? K.ticketExtras() : {}))
      .then(showResult, showError)
      .then(function () {
        inFlight = false;
        setBusy(false);
      });
  }

  tiles.forEach(function (tile) {
    tile.addEventListener("click", function () {
      issue(tile.getAttribute("data-letter"));
    });
  });

  /** A line in Chinese with its English under it (English only on an English screen). */
  function bilingualLine(key, cls) {
    return K.el("span", { class: cls }, [
      K.el("span", { class: "t-main", text: K.t(key) }),
      bilingual && K.strings[key + "_en"] ? K.el("span", { class: "t-sub", lang: "en", text: K.strings[key + "_en"] }) : null,
    ]);
  }

  /** printed: take your ticket. queued (the printer is down or did not confirm in time) or
   * failed: the ticket was not printed, so the number and the QR code on screen are all
   * the resident has. */
  function printLine(status) {
    var el = document.getElementById("r-print");
    var printed = status === "printed";
    var noPaper = status === "paperless";
    el.setAttribute("data-status", status || "");
    el.textContent = "";
    el.appendChild(K.el("span", { class: "print-icon", "aria-hidden": "true" }));
    if (printed || !status || noPaper) {
      el.appendChild(K.el("span", { class: "print-text" }, [bilingualLine(status || "printing", "print-line")]));
    } else {
      el.appendChild(K.el("span", { class: "print-text" }, [
        bilingualLine("not_printed", "print-line print-headline"),
        bilingualLine("not_printed_help", "print-line print-help"),
      ]));
    }
    document.getElementById("r-qr-text").hidden = !printed;
    document.getElementById("r-qr-text-paperless").hidden = !noPaper;
    document.getElementById("r-qr-text-unprinted").hidden = printed || noPaper;
  }

  function showResult(ticket) {
    fill("r-number", ticket.number).classList.toggle("is-long", ticket.number.length > 4);
    fill("r-service", bilingual ? ticket.service_name_zh : ticket.service_name_en);
    fill("r-service-sub", bilingual ? ticket.service_name_en : "");
    document.getElementById("r-priority").hidden = !ticket.priority;
    fill("r-ahead", String(ticket.people_ahead || 0));
    var seconds = ticket.estimated_wait_s || 0;
    fill("r-wait", String(seconds > 0 ? Math.max(1, Math.round(seconds / 60)) : 0));
    var qr = document.getElementById("r-qr");
    // the ticket's phone page (what the printed QR holds too)
    qr.src = "/kiosk/qr.svg?data=" + encodeURIComponent(ticket.phone_url || ticket.number);
    printLine(ticket.print ? ticket.print.status : "queued");
    result.setAttribute("data-ticket", ticket.number);

    home.hidden = true;
    result.hidden = false;
    setPriority(false);
    setPaperless(false);
    doneBtn.focus();
    startCountdown();
  }

  function startCountdown() {
    var left = RESULT_SECONDS;
    countdownEl.textContent = String(left);
    clearInterval(countdown);
    countdown = setInterval(function () {
      left -= 1;
      countdownEl.textContent = String(Math.max(left, 0));
      if (left <= 0) goHome();
    }, 1000);
  }

  function goHome() {
    clearInterval(countdown);
    countdown = null;
    if (result.hidden) return;
    result.hidden = true;
    result.removeAttribute("data-ticket");
    if (resetLanguage()) return;
    home.hidden = false;
    refreshCounts();
    var first = tiles[0];
    if (first && document.activeElement && document.activeElement !== document.body) first.focus();
  }

  // Any tap on the result screen (the Done button included) goes back to the start.
  result.addEventListener("click", goHome);

  /* ---- language ------------------------------------------------------------------- */

  // Someone switched the kiosk to English: the next person finds it in the site's own
  // language again, after their ticket or when the screen has been left alone.
  function resetLanguage() {
    if (K.lang === defaultLang) return false;
    location.replace(location.pathname + "?lang=" + encodeURIComponent(defaultLang));
    return true;
  }

  var idleTimer = null;
  function noteActivity() {
    clearTimeout(idleTimer);
    if (K.lang === defaultLang) return;
    idleTimer = setTimeout(function () {
      if (result.hidden && errorBox.hidden && !inFlight) resetLanguage();
      else noteActivity();
    }, IDLE_SECONDS * 1000);
  }
  ["pointerdown", "keydown"].forEach(function (name) {
    document.addEventListener(name, noteActivity, true);
  });
  noteActivity();

  /* ---- errors --------------------------------------------------------------------- */

  function showError(err) {
    var main;
    var sub = null;
    if (err && err.code === "network") {
      main = K.t("network_kiosk");
      sub = bilingual ? K.strings.network_kiosk_en : null;
    } else if (err && err.code === "storage_unavailable") {
      // 503: the box cannot save (disk full or read-only); staff can still help at the desk
      main = K.t("storage_unavailable");
      sub = bilingual ? K.strings.storage_unavailable_en : null;
    } else if (err && ["rate_limited", "print_queue_full", "device_required"].indexOf(err.code) >= 0) {
      // 429 (a limit; the answer's Retry-After says when) or 401 (this screen is not enrolled)
      main = K.t(err.code + "_kiosk");
      sub = bilingual ? K.strings[err.code + "_kiosk_en"] : null;
    } else {
      main = K.describeError(err) + (err && err.status ? " (" + err.status + ")" : "");
    }
    errorText.textContent = "";
    errorText.appendChild(K.el("span", { class: "t-main", text: main }));
    if (sub) errorText.appendChild(K.el("span", { class: "t-sub", lang: "en", text: sub }));
    errorBox.hidden = false;
    errorOk.focus();
    clearTimeout(errorTimer);
    errorTimer = setTimeout(hideError, ERROR_SECONDS * 1000);
  }

  function hideError() {
    clearTimeout(errorTimer);
    if (errorBox.hidden) return;
    errorBox.hidden = true;
    if (tiles[0]) tiles[0].focus();
  }

  errorOk.addEventListener("click", hideError);
  errorBox.addEventListener("click", function (ev) {
    if (ev.target === errorBox) hideError();
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    if (!errorBox.hidden) hideError();
    else if (!result.hidden) goHome();
  });

  /* ---- the printer banner ---------------------------------------------------------- */

  var printerBanner = document.getElementById("printer-banner");

  /** {available, reason} from /api/v1/services or a `printer.status` event. */
  function showPrinter(printer) {
    if (!printer) return;
    printerBanner.hidden = printer.available !== false;
    printerBanner.setAttribute("data-reason", printer.reason || "");
  }

  /* ---- live waiting counts -------------------------------------------------------- */

  function showCounts(services) {
    (services || []).forEach(function (s) {
      var el = document.querySelector('[data-waiting="' + s.letter + '"]');
      if (el) el.textContent = K.t("waiting", { n: s.waiting });
    });
  }

  function refreshCounts() {
    return K.api("GET", "/api/v1/services").then(function (body) {
      showCounts(body && body.services);
      showPrinter(body && body.printer);
    }, function () { /* keep the last counts; the connection indicator says why */ });
  }

  var refreshSoon = K.debounce(refreshCounts, 250);
  K.events(
    { "ticket.issued": refreshSoon, "ticket.called": refreshSoon, "ticket.updated": refreshSoon,
      "printer.status": function (data) { showPrinter(K.printerFact(data)); } },
    {
      onOpen: refreshCounts,
      onState: function (state) {
        document.body.classList.toggle("is-offline", state === "reconnecting");
      },
    }
  );
})();
