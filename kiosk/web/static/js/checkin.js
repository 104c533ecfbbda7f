/* Check-in on the kiosk: a resident's card read by the camera or a serial
 * scanner arrives as the `qr.scanned` event and is greeted by name; a keyboard-wedge
 * scanner's fast keystrokes ending in Enter are taken as a scan, not typed into a field;
 * ID-number check-in with an on-screen keypad and the GB 11643 check digit verified
 * before anything is sent; visitor registration printing a pass. A check-in answers a
 * masked greeting and a single-use check-in token: the ticket (kiosk.js) or case
 * (kiosk_cases.js) taken next carries it (Kiosk.ticketExtras). */
(function () {
  "use strict";

  var K = window.Kiosk;
  var bilingual = K.lang !== "en";
  var GREETING_SECONDS = 12;
  var VISIT_LINK_SECONDS = 120;
  var MESSAGE_SECONDS = 10;
  var WEDGE_GAP_MS = 80;     // scanners type a character every few ms; people do not
  var WEDGE_MIN_CHARS = 8;

  function $(id) { return document.getElementById(id); }

  var overlays = ["ci-greeting", "ci-id", "ci-visitor", "ci-pass", "ci-message"].map($);
  var timers = {};

  function show(el, seconds) {
    overlays.forEach(function (o) { if (o !== el) o.hidden = true; });
    el.hidden = false;
    clearTimeout(timers[el.id]);
    if (seconds) timers[el.id] = setTimeout(function () { el.hidden = true; }, seconds * 1000);
    var focus = el.querySelector("input, .btn-primary");
    if (focus) focus.focus();
  }
  function hide(el) { el.hidden = true; clearTimeout(timers[el.id]); }
  overlays.forEach(function (o) {
    o.addEventListener("click", function (ev) {
      if (ev.target === o || (ev.target.closest && ev.target.closest("[data-close]"))) hide(o);
    });
  });

  function message(text, sub) {
    var box = $("ci-message-text");
    box.textContent = "";
    box.appendChild(K.el("span", { class: "t-main", text: text }));
    if (sub && bilingual) box.appendChild(K.el("span", { class: "t-sub", lang: "en", text: sub }));
    show($("ci-message"), MESSAGE_SECONDS);
  }

  function errorText(err) {
    var code = err && (err.code || (err.error && err.error.code));
    if (code && K.strings["checkin." + code]) return K.t("checkin." + code);
    return K.describeError(err && err.error ? { code: err.error.code, message: err.error.message } : err);
  }

  /* ---- greeting and the check-in the next ticket belongs to ---------------------------- */

  var checkin = null;  // {token, at}
  K.ticketExtras = function () {
    if (!checkin || Date.now() - checkin.at > VISIT_LINK_SECONDS * 1000) return {};
    var extras = { checkin_token: checkin.token };
    checkin = null;
    return extras;
  };
  function keep(answer) {
    checkin = answer && answer.checkin_token ? { token: answer.checkin_token, at: Date.now() } : null;
  }

  /** The "photo taken" line of a dialog, shown when the check-in took a camera snapshot
   * (the answer's `photo_taken` boolean: a device gets nothing else of the visit). */
  function photoLine(dialog, answer) {
    var line = $(dialog).querySelector("[data-photo]");
    if (line) line.hidden = !(answer && (answer.photo_taken === true || answer.snapshot_sha256));
  }

  /** The masked name a check-in answers ({greeting: {name}}), or the name a scan event carries. */
  function shownName(answer) {
    if (answer && answer.greeting) return answer.greeting.name || "";
    return (answer && answer.visit && answer.visit.name) || "";
  }

  /** `byId`: an ID-number check-in, greeted without a name whoever it was, with the way to
   * register as a visitor for anyone not in the directory. */
  function greet(answer, byId) {
    keep(answer);
    var name = shownName(answer);
    $("ci-greet-zh").textContent = name ? K.t("checkin.hello", { name: name }) : K.t("checkin.welcome");
    if ($("ci-greet-en")) $("ci-greet-en").textContent = "Hello, welcome!";
    $("ci-greet-visitor").hidden = !byId;
    photoLine("ci-greeting", answer);
    show($("ci-greeting"), GREETING_SECONDS);
  }
  var lastId = "";  // the ID number of the last ID check-in: a visitor registering keeps it
  $("ci-greet-visitor").addEventListener("click", function () { var id = lastId; lastId = ""; openVisitor(id); });

  var shown = {};        // scan events already shown, by action and visit id
  var ownScanAt = 0;     // this page sent a wedge scan: its answer shows it, not the broadcast

  function onScan(outcome, fromServerEvent) {
    if (!outcome) return;
    if (fromServerEvent && outcome.source === "wedge" && Date.now() - ownScanAt < 10000) return;
    if (outcome.visit && outcome.visit.id) {
      var key = outcome.action + ":" + outcome.visit.id;
      if (shown[key]) return;
      shown[key] = true;
    }
    if (outcome.ok && outcome.action === "checked_in") greet(outcome, false);
    else if (outcome.ok && outcome.action === "checked_out") {
      var name = shownName(outcome);
      message(K.t("checkin.goodbye", { name: name }), K.t("checkin.goodbye_en", { name: name }));
    } else if (outcome.error) message(errorText(outcome.error));
  }

  /* ---- the live hint of the box's camera ("hold your code up to the camera") ---------- */

  var cameraLine = $("ci-scan-state");
  /** `state`: off, offline, looking, unreadable, read (camera.status), or refused (the
   * camera's code was read and its scan turned down). */
  function cameraState(state) {
    if (!cameraLine) return;
    cameraLine.hidden = state === "off";
    cameraLine.setAttribute("data-state", state);
    cameraLine.textContent = state === "off" ? "" : K.t("checkin.camera_" + state);
  }
  if (cameraLine) cameraState(cameraLine.getAttribute("data-state"));

  // The camera and a serial scanner report through the server (one path for all readers).
  K.events({
    "qr.scanned": function (outcome) {
      if (outcome && outcome.source === "camera") cameraState(outcome.ok ? "read" : "refused");
      onScan(outcome, true);
    },
    "camera.status": function (status) { cameraState(status.state); },
  });

  /* ---- keyboard-wedge scanners ----------------------------------------------------- */

  // A scanner types a whole code in a few ms per character and ends it with Enter. A
  // burst starts with 4 keys each under WEDGE_GAP_MS apart; once started, a busy browser
  // may delay a key (up to WEDGE_STALL_MS) without breaking it; on Enter it counts as a
  // scan when it has WEDGE_MIN_CHARS and its keys came on average faster than any typist.
  var WEDGE_STALL_MS = 600;
  var WEDGE_MEAN_MS = 60;
  var burst = "";
  var burstStart = 0;
  var lastKey = 0;
  var burstField = null;
  var fieldBefore = "";

  document.addEventListener("keydown", function (ev) {
    var now = performance.now();
    var gap = now - lastKey;
    lastKey = now;
    if (ev.key === "Enter") {
      var code = burst;
      var mean = code.length > 1 ? (now - burstStart) / code.length : Infinity;
      burst = "";
      if (code.length < WEDGE_MIN_CHARS || gap > WEDGE_STALL_MS || mean > WEDGE_MEAN_MS) return;
      ev.preventDefault();
      ev.stopPropagation();
      if (burstField) burstField.value = fieldBefore;  // the scan is not typing
      if (K.takeScan && K.takeScan(code)) return;  // a screen waiting for a scan (the rating) takes it
      ownScanAt = Date.now();
      K.api("POST", "/api/v1/scans", { payload: code }).then(function (outcome) {
        onScan(outcome, false);
      }, function (err) { message(errorText(err)); });
      return;
    }
    if (ev.key.length !== 1 || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    if (gap > WEDGE_STALL_MS || (gap > WEDGE_GAP_MS && burst.length < 4)) {  // a new burst may start here
      burst = "";
      burstStart = now;
      burstField = ev.target && "value" in ev.target ? ev.target : null;
      fieldBefore = burstField ? burstField.value : "";
    }
    burst += ev.key;
  }, true);

  /* ---- ID number ------------------------------------------------------------------- */

  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECK = "10X98765432";

  /** The error code of an ID number, or "" when it is valid (GB 11643; the server checks again). */
  K.idNumberError = function (value) {
    var v = String(value || "").toUpperCase().replace(/\s+/g, "");
    if (v.length !== 18) return "id_length";
    if (!/^\d{17}[\dX]$/.test(v)) return "id_format";
    var y = +v.slice(6, 10), m = +v.slice(10, 12), d = +v.slice(12, 14);
    var date = new Date(Date.UTC(y, m - 1, d));
    if (y < 1900 || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d || date > new Date()) return "id_birth_date";
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += +v[i] * WEIGHTS[i];
    return CHECK[sum % 11] === v[17] ? "" : "id_checksum";
  };

  var idInput = $("ci-id-number");
  var idError = $("ci-id-error");
  $("ci-id-open").addEventListener("click", function () {
    idInput.value = "";
    idError.textContent = "";
    show($("ci-id"));
  });
  document.querySelectorAll(".ci-key").forEach(function (key) {
    key.addEventListener("click", function () {
      var k = key.getAttribute("data-key");
      if (k === "back") idInput.value = idInput.value.slice(0, -1);
      else if (idInput.value.length < 18) idInput.value += k;
      idError.textContent = "";
    });
  });
  $("ci-id-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var problem = K.idNumberError(idInput.value);
    if (problem) {
      idError.textContent = K.t("checkin." + problem);
      return;
    }
    var btn = $("ci-id-submit");
    btn.disabled = true;
    K.api("POST", "/api/v1/checkins", { method: "id", id_number: idInput.value.toUpperCase() }).then(function (v) {
      lastId = idInput.value.toUpperCase();  // kept for "Register as a visitor" on the greeting
      idInput.value = "";
      greet(v, true);
    }, function (err) {
      var code = err && (err.code || (err.error && err.error.code));
      if (code === "id_not_found") { openVisitor(idInput.value.toUpperCase()); return; }
      idError.textContent = errorText(err);
    }).then(function () { btn.disabled = false; });
  });

  /* ---- visitors -------------------------------------------------------------------- */

  var vErr = $("ci-visitor-error");
  /** The visitor form, empty or (after an ID-number check-in whose person chose to register
   * as a visitor) with that ID number kept. */
  function openVisitor(idNumber) {
    $("ci-visitor-form").reset();
    ["ci-v-name", "ci-v-phone", "ci-v-unit"].forEach(function (id) { $(id).removeAttribute("aria-invalid"); });
    // no "not in the directory" line: an ID check-in answers alike whoever it was (no oracle)
    vErr.textContent = "";
    show($("ci-visitor"));
    if (idNumber) $("ci-v-id").value = idNumber;
  }
  $("ci-visitor-open").addEventListener("click", function () { openVisitor(""); });
  $("ci-visitor-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var visitor = {
      name: $("ci-v-name").value.trim(), phone: $("ci-v-phone").value.trim(), unit: $("ci-v-unit").value.trim(),
      purpose: (document.querySelector('input[name="purpose"]:checked') || {}).value || "",
    };
    var id = $("ci-v-id").value.trim();
    var missing = [["ci-v-name", visitor.name], ["ci-v-phone", visitor.phone], ["ci-v-unit", visitor.unit]]
      .filter(function (f) { return !f[1]; }).map(function (f) { return $(f[0]); });
    ["ci-v-name", "ci-v-phone", "ci-v-unit"].forEach(function (id) { $(id).removeAttribute("aria-invalid"); });
    if (missing.length) {
      missing.forEach(function (f) { f.setAttribute("aria-invalid", "true"); });
      vErr.textContent = K.t("checkin.missing_field");
      missing[0].focus();
      return;
    }
    if (id) {
      var problem = K.idNumberError(id);
      if (problem) { vErr.textContent = K.t("checkin." + problem); return; }
      visitor.id_number = id.toUpperCase();
    }
    var btn = $("ci-visitor-submit");
    btn.disabled = true;
    K.api("POST", "/api/v1/checkins", { method: "manual", visitor: visitor }).then(function (v) {
      keep(v);
      $("ci-pass-who").textContent = shownName(v);
      var status = v.print ? v.print.status : "queued";
      $("ci-pass-print").setAttribute("data-status", status);
      $("ci-pass-print").textContent = "";
      $("ci-pass-print").appendChild(K.el("span", { class: "t-main", text: K.t("checkin." + status) }));
      if (bilingual && K.strings["checkin." + status + "_en"]) {
        $("ci-pass-print").appendChild(K.el("span", { class: "t-sub", lang: "en", text: K.t("checkin." + status + "_en") }));
      }
      photoLine("ci-pass", v);
      show($("ci-pass"), 30);
    }, function (err) {
      vErr.textContent = errorText(err);
    }).then(function () { btn.disabled = false; });
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape") overlays.forEach(hide);
  });
})();
