/* Touchscreen and counter-tablet parts of cases and surveys:
 *  - file a repair or complaint → POST /api/v1/cases (channel kiosk) → case number + slip status;
 *  - rate a finished ticket 1-5 (+ comment) → POST /api/v1/surveys (one per ticket): on the
 *    touchscreen the holder scans their own ticket's QR code (ticket_code); on /rate (the
 *    counter tablet) the panel appears by itself for the ticket the counter just finished
 *    (ticket_id + counter). No screen lists anyone's tickets;
 *  - the periodic questionnaire offered after a while of inactivity → POST /api/v1/questionnaire. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var bilingual = K.lang !== "en";
  function $(id) { return document.getElementById(id); }
  var overlay = $("kc-overlay");
  var tablet = document.querySelector(".rate[data-counter]");
  var panels = ["kc-file", "kc-filed", "kc-pick", "kc-rate", "kc-thanks", "kc-quest"];
  var closeTimer = null;
  var lastActivity = Date.now();

  function show(id) {
    panels.forEach(function (p) { if ($(p)) $(p).hidden = p !== id; });
    if (overlay) overlay.hidden = !id;
    if ($("rate-idle")) $("rate-idle").hidden = !!id;
    clearTimeout(closeTimer);
    if (id) closeTimer = setTimeout(function () { show(null); }, id === "kc-thanks" || id === "kc-filed" ? 20000 : 90000);
  }
  document.querySelectorAll("[data-kc-close]").forEach(function (b) {
    b.addEventListener("click", function () { show(null); });
  });
  function radio(buttons, on) {
    buttons.forEach(function (b) { b.setAttribute("aria-checked", b === on ? "true" : "false"); });
  }
  ["click", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, function () { lastActivity = Date.now(); }, { passive: true });
  });

  /** A deadline as people say it, in the site's time zone: 12月7日 02:27 / 7 Dec, 02:27. */
  function localTime(iso) {
    if (!iso) return "";
    var tz = document.body.getAttribute("data-tz") || undefined;
    return new Intl.DateTimeFormat(K.lang === "en" ? "en-GB" : "zh-CN", { timeZone: tz, month: K.lang === "en" ? "short" : "numeric",
      day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(new Date(iso));
  }

  /* ---- filing ---- */
  var fileType = null;
  var category = null;
  var opts = Array.prototype.slice.call(document.querySelectorAll(".kc-opt"));
  var cats = Array.prototype.slice.call(document.querySelectorAll(".kc-cat"));
  function fileReady() { if ($("kc-file-send")) $("kc-file-send").disabled = !(fileType && (category || $("kc-desc").value.trim())); }
  opts.forEach(function (b) { b.addEventListener("click", function () { fileType = b.dataset.type; radio(opts, b); fileReady(); }); });
  cats.forEach(function (b) { b.addEventListener("click", function () { category = b.dataset.category; radio(cats, b); fileReady(); }); });
  if ($("kc-desc")) $("kc-desc").addEventListener("input", fileReady);
  if ($("kc-open-file")) $("kc-open-file").addEventListener("click", function () {
    fileType = null; category = null; radio(opts, null); radio(cats, null);
    ["kc-desc", "kc-unit", "kc-phone"].forEach(function (id) { $(id).value = ""; });
    $("kc-file").dispatchEvent(new Event("reset"));  // the on-screen keyboard closes (kiosk_keys.js)
    fileReady();
    show("kc-file");
  });
  if ($("kc-file-send")) $("kc-file-send").addEventListener("click", function () {
    var send = $("kc-file-send");
    var text = $("kc-desc").value.trim();
    var body = { type: fileType, channel: "kiosk", description: text ? (category ? category + "：" + text : text) : category };
    if (category) body.category = category;
    // after a check-in, the case belongs to it (and its resident): the check-in's single-use token
    Object.assign(body, K.ticketExtras ? K.ticketExtras() : {});
    if ($("kc-unit").value.trim()) body.unit = $("kc-unit").value.trim();
    if ($("kc-phone").value.trim()) body.contact_phone = $("kc-phone").value.trim();
    send.disabled = true;
    K.api("POST", "/api/v1/cases", body).then(function (c) {
      var no = K.caseNumber(c.id);
      $("kc-case-no").textContent = K.t("kc.case_no", { no: no });
      $("kc-case-no").setAttribute("data-case-no", no);
      $("kc-reply-by").textContent = K.t("kc.reply_by", { time: localTime(c.due_at) });
      var status = (c.print && c.print.status) || "queued";
      $("kc-print").textContent = K.t("kc." + status);
      $("kc-print").setAttribute("data-status", status);
      show("kc-filed");
    }, K.toastError).then(function () { send.disabled = false; });
  });

  /* ---- rating ---- */
  var target = null;
  var score = null;
  var stars = Array.prototype.slice.call(document.querySelectorAll(".kc-star"));
  // one tap on a score sends the rating (with the comment typed before it, if any)
  stars.forEach(function (b) {
    b.addEventListener("click", function () {
      if (sending) return;
      score = Number(b.dataset.score);
      radio(stars, b);
      sendRating();
    });
  });
  /** target: {ticket_id, number, counter} (the tablet) or {code, number} (a scanned ticket). */
  function rateTicket(ticket) {
    target = ticket;
    score = null;
    radio(stars, null);
    $("kc-rate-comment").value = "";
    $("kc-rate").dispatchEvent(new Event("reset"));
    $("kc-rate-ticket").textContent = ticket.number ? K.t("kc.ticket", { number: ticket.number }) : K.t("kc.your_ticket");
    show("kc-rate");
  }
  if ($("kc-open-rate")) $("kc-open-rate").addEventListener("click", function () {
    $("kc-scan-error").textContent = "";
    show("kc-pick");
  });
  // a keyboard-wedge scan (checkin.js) while the kiosk waits for a ticket: rate that ticket.
  // Its QR code is its phone link (…/t/<cap>), the proof of holding it; the phone page's
  // answer gives the number to show.
  K.takeScan = function (code) {
    if (!$("kc-pick") || $("kc-pick").hidden) return false;
    var cap = /\/t\/([A-Za-z0-9_-]+)$/.exec(code.trim());
    if (!cap) {
      $("kc-scan-error").textContent = K.t("kc.not_a_ticket");
      return true;
    }
    K.api("GET", "/api/v1/t/" + cap[1]).then(function (ticket) {
      rateTicket({ code: code.trim(), number: ticket.number });
    }, function () {
      $("kc-scan-error").textContent = K.t("kc.not_a_ticket");
    });
    return true;
  };
  var sending = false;
  function sendRating() {
    if (!target || !score) return;
    var body = target.code ? { ticket_code: target.code } : { ticket_id: target.ticket_id, counter: target.counter };
    body.score = score;
    body.channel = tablet ? "tablet" : "kiosk";
    if ($("kc-rate-comment").value.trim()) body.comment = $("kc-rate-comment").value.trim();
    sending = true;
    K.api("POST", "/api/v1/surveys", body).then(function () {
      show("kc-thanks");
    }, function (err) {
      radio(stars, null);
      if (err.code === "already_answered") { K.toast(K.t("kc.already_answered")); show(null); return; }
      if (K.strings["kc." + err.code]) { K.toast(K.t("kc." + err.code)); show(null); return; }
      K.toastError(err);
    }).then(function () { sending = false; });
  }

  /* ---- the counter tablet: offer the rating when the counter finishes a ticket ---- */
  if (tablet) {
    var counter = tablet.getAttribute("data-counter");
    var offered = {};
    var check = function () {
      if ($("kc-rate") && !$("kc-rate").hidden) return;
      K.api("GET", "/api/v1/surveys/pending?counter=" + encodeURIComponent(counter)).then(function (data) {
        var tk = (data.pending || [])[0];
        if (tk && !offered[tk.ticket_id]) { offered[tk.ticket_id] = true; rateTicket(tk); }
      }, function () {});
    };
    K.events({ "ticket.updated": check, "ticket.called": check }, { onOpen: check });
    show(null);
    return;
  }

  /* ---- the periodic questionnaire on the idle kiosk ---- */
  var quest = null;
  var answers = [];
  function renderQuestions() {
    var box = $("kc-questions");
    box.textContent = "";
    answers = quest.questions.map(function () { return null; });
    quest.questions.forEach(function (q, i) {
      var row = K.el("div", { class: "kc-q" }, [
        K.el("p", { class: "kc-q-text" }, [K.el("span", { class: "t-main", text: bilingual ? q.zh : q.en }),
          bilingual ? K.el("span", { class: "t-sub", lang: "en", text: q.en }) : null]),
      ]);
      var group = K.el("div", { class: "kc-q-scores", role: "radiogroup" });
      var buttons = [1, 2, 3, 4, 5].map(function (n) {
        return K.el("button", { type: "button", class: "kc-q-score", role: "radio", "aria-checked": "false",
          dataset: { q: i, score: n }, text: String(n) });
      });
      buttons.forEach(function (b) {
        b.addEventListener("click", function () {
          answers[i] = Number(b.dataset.score);
          radio(buttons, b);
          $("kc-quest-send").disabled = answers.some(function (a) { return a === null; });
        });
        group.appendChild(b);
      });
      row.appendChild(group);
      row.appendChild(K.el("p", { class: "kc-q-ends", "aria-hidden": "true" }, [
        K.el("span", { text: "1 · " + K.t("kc.scale_low") }), K.el("span", { text: K.t("kc.scale_high") + " · 5" })]));
      box.appendChild(row);
    });
    $("kc-quest-send").disabled = true;
  }
  if ($("kc-quest-send")) {
    $("kc-quest-send").addEventListener("click", function () {
      $("kc-quest-send").disabled = true;
      K.api("POST", "/api/v1/questionnaire", { answers: answers }).then(function () { show("kc-thanks"); }, K.toastError);
    });
    K.api("GET", "/api/v1/questionnaire").then(function (q) {
      quest = q;
      if (!q.idle_prompt_s || !q.questions.length) return;
      var offeredAt = 0;
      setInterval(function () {
        var idle = Date.now() - lastActivity;
        var home = $("home");
        if (!overlay.hidden || (home && home.hidden) || idle < q.idle_prompt_s * 1000) return;
        if (Date.now() - offeredAt < 10 * 60 * 1000) return;  // at most every 10 minutes
        offeredAt = Date.now();
        renderQuestions();
        show("kc-quest");
      }, 5000);
    }, function () {});
  }
})();
