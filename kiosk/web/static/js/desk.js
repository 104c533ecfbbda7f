/* The receptionist's console: call next, act on the ticket at this counter, call a
 * particular queued ticket, reinstate recent no-shows. Live over SSE; keyboard
 * shortcuts N R S X F T; errors in a toast. */
(function () {
  "use strict";

  var K = window.Kiosk;
  var data = K.readJson("desk-data");
  var counter = String(data.counter);
  var services = data.services || [];
  var english = K.lang === "en";

  var callNextBtn = document.getElementById("call-next");
  var callNextInfo = document.getElementById("call-next-info");
  var currentCard = document.getElementById("current");
  var currentNumber = document.getElementById("current-number");
  var currentStatus = document.getElementById("current-status");
  var currentService = document.getElementById("current-service");
  var currentDetail = document.getElementById("current-detail");
  var currentOthers = document.getElementById("current-others");
  var queueBody = document.getElementById("queue");
  var queueCount = document.getElementById("queue-count");
  var noshowList = document.getElementById("noshows");
  var transferForm = document.getElementById("transfer-form");
  var transferSelect = document.getElementById("transfer-service");
  var actionButtons = Array.prototype.slice.call(document.querySelectorAll("#current [data-action]"));
  var indicator = K.liveIndicator(document.getElementById("live"));

  var state = { atCounter: [], selectedId: null, queue: [], noShows: [] };
  var busy = false;

  /** Which actions each ticket status allows (mirrors the queue rules). */
  var ALLOWED = {
    called: { recall: 1, start: 1, "no-show": 1, finish: 1, transfer: 1 },
    serving: { finish: 1, transfer: 1 },
  };

  function serviceName(t) {
    return english ? t.service_name_en : t.service_name_zh;
  }

  function current() {
    var list = state.atCounter;
    for (var i = 0; i < list.length; i++) if (list[i].id === state.selectedId) return list[i];
    return list.length ? list[list.length - 1] : null;
  }

  /* ---- rendering ------------------------------------------------------------------ */

  function renderCurrent() {
    var t = current();
    currentCard.setAttribute("data-status", t ? t.status : "");
    currentCard.setAttribute("data-ticket", t ? t.number : "");
    currentCard.setAttribute("data-since", t ? t.called_at || "" : "");
    currentNumber.textContent = t ? t.number : "—";
    currentStatus.textContent = t ? K.t("status_" + t.status) : "";
    currentStatus.className = "status-badge" + (t ? " status-" + t.status : "");
    currentService.textContent = "";
    if (t) {
      currentService.appendChild(document.createTextNode(t.service + " · " + serviceName(t)));
      if (t.priority) currentService.appendChild(K.el("span", { class: "badge badge-priority", text: K.t("priority") }));
      if (t.transferred) currentService.appendChild(K.el("span", { class: "badge badge-transfer", text: K.t("transferred") }));
    } else {
      currentService.textContent = K.t("nobody");
    }
    var detail = [];
    if (t && t.called_at) detail.push(K.t("called_at", { time: K.hhmm(t.called_at) }));
    if (t && t.recalls) detail.push(K.t("recalls", { n: t.recalls }));
    currentDetail.textContent = detail.join(" · ");
    currentDetail.setAttribute("data-recalls", t ? String(t.recalls || 0) : "0");

    var allowed = t ? ALLOWED[t.status] || {} : {};
    actionButtons.forEach(function (btn) {
      btn.disabled = busy || !allowed[btn.getAttribute("data-action")];
    });
    transferSelect.disabled = busy || !allowed.transfer;
    if (t) {
      Array.prototype.forEach.call(transferSelect.options, function (opt) {
        opt.disabled = opt.value === t.service;
      });
      if (transferSelect.value === t.service) {
        var firstOther = Array.prototype.find.call(transferSelect.options, function (o) { return !o.disabled; });
        if (firstOther) transferSelect.value = firstOther.value;
      }
    }

    // More than one ticket at this counter (e.g. one was called from the list while
    // another was still open): offer to switch between them.
    currentOthers.textContent = "";
    var others = state.atCounter.filter(function (o) { return !t || o.id !== t.id; });
    currentOthers.hidden = !others.length;
    if (others.length) {
      currentOthers.appendChild(K.el("span", { class: "others-label", text: K.t("also_here") }));
      others.forEach(function (o) {
        currentOthers.appendChild(K.el("button", {
          type: "button", class: "chip", text: o.number + " · " + K.t("status_" + o.status),
          onclick: function () { state.selectedId = o.id; renderCurrent(); },
        }));
      });
    }
  }

  function renderQueue() {
    var mine = state.queue;
    queueCount.textContent = String(mine.length);
    callNextInfo.textContent = K.t("waiting", { n: mine.length });
    callNextBtn.disabled = busy;
    queueBody.textContent = "";
    if (!mine.length) {
      queueBody.appendChild(K.el("tr", { class: "empty" }, [K.el("td", { colspan: "5", text: K.t("queue_empty") })]));
      return;
    }
    mine.forEach(function (t) {
      var callBtn = K.el("button", {
        type: "button", class: "btn btn-sm btn-row", text: K.t("call"), "data-call": t.id,
        "aria-label": K.t("call") + " " + t.number,
      });
      var row = K.el("tr", { class: "queue-row", dataset: { ticket: t.number, id: t.id } }, [
        K.el("td", { class: "q-number" }, [t.number,
          t.priority ? K.el("span", { class: "badge badge-priority", text: K.t("priority") }) : null,
          t.transferred ? K.el("span", { class: "badge badge-transfer", text: K.t("transferred") }) : null]),
        K.el("td", { class: "q-service", text: serviceName(t) }),
        K.el("td", { class: "q-time", text: K.hhmm(t.issued_at) }),
        K.el("td", { class: "q-waited", "data-since": t.issued_at, text: K.t("waited", { n: K.minutesSince(t.issued_at) }) }),
        K.el("td", { class: "q-action" }, [callBtn]),
      ]);
      row.addEventListener("click", function () { callTicket(t); });
      queueBody.appendChild(row);
    });
  }

  function renderNoShows() {
    noshowList.textContent = "";
    if (!state.noShows.length) {
      noshowList.appendChild(K.el("li", { class: "empty", text: K.t("none") }));
      return;
    }
    state.noShows.forEach(function (t) {
      noshowList.appendChild(K.el("li", { class: "noshow-row", dataset: { ticket: t.number } }, [
        K.el("span", { class: "ns-number", text: t.number }),
        K.el("span", { class: "ns-detail", text: serviceName(t) + " · " + K.t("no_show_at", { time: K.hhmm(t.no_show_at) }) }),
        K.el("button", {
          type: "button", class: "btn btn-sm btn-ghost", text: K.t("reinstate"), "data-reinstate": t.id,
          disabled: busy, onclick: function () { act(t, "reinstate"); },
        }),
      ]));
    });
  }

  function render() {
    renderCurrent();
    renderQueue();
    renderNoShows();
  }

  /* ---- loading -------------------------------------------------------------------- */

  var loading = null;
  var again = false;

  function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = Promise.all([
      K.api("GET", "/api/v1/counters/" + encodeURIComponent(counter)),
      K.api("GET", "/api/v1/tickets?service=" + encodeURIComponent(services.join(","))),
    ]).then(function (res) {
      state.atCounter = (res[0] && res[0].tickets) || [];
      state.noShows = (res[0] && res[0].no_shows) || [];
      state.queue = (res[1] && res[1].tickets) || [];
      render();
      document.body.setAttribute("data-loaded", "true");
    }, function (err) {
      if (err.status === 401) location.reload(); // logged out: the page guard sends us to /login
      else K.toastError(err);
    }).then(function () {
      loading = null;
      if (again) {
        again = false;
        refresh();
      }
    });
    return loading;
  }

  var refreshSoon = K.debounce(refresh, 120);

  /* ---- actions -------------------------------------------------------------------- */

  function run(promise, onDone) {
    busy = true;
    render();
    return promise.then(onDone, K.toastError).then(function () {
      busy = false;
      return refresh();
    });
  }

  function callNext() {
    if (busy) return;
    run(K.api("POST", "/api/v1/counters/" + encodeURIComponent(counter) + "/call-next"), function (t) {
      if (t) {
        state.selectedId = t.id;
        K.toast(K.t("toast_called", { number: t.number }), "success");
      } else {
        K.toast(K.t("toast_nobody"), "info");
      }
    });
  }

  function callTicket(t) {
    if (busy) return;
    run(K.api("POST", "/api/v1/tickets/" + t.id + "/call", { counter: counter }), function (called) {
      state.selectedId = called.id;
      K.toast(K.t("toast_called", { number: called.number }), "success");
    });
  }

  function act(t, action, body) {
    if (busy || !t) return;
    run(K.api("POST", "/api/v1/tickets/" + t.id + "/" + action, body), function (updated) {
      var label = transferSelect.options[transferSelect.selectedIndex];
      K.toast(K.t("toast_" + action, {
        number: updated.number,
        service: label ? label.textContent : (body && body.service) || "",
      }), action === "no-show" ? "info" : "success");
    });
  }

  callNextBtn.addEventListener("click", callNext);
  actionButtons.forEach(function (btn) {
    var action = btn.getAttribute("data-action");
    if (action === "transfer") return; // the form's submit
    btn.addEventListener("click", function () { act(current(), action); });
  });
  transferSelect.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") {
      ev.preventDefault();
      transferForm.requestSubmit();
    }
  });
  transferForm.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var t = current();
    if (!t || !transferSelect.value) return;
    act(t, "transfer", { service: transferSelect.value });
  });

  /* ---- keyboard ------------------------------------------------------------------- */

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
    var target = ev.target;
    var tag = target && target.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) return;
    var key = (ev.key || "").toLowerCase();
    if (key === "n") {
      ev.preventDefault();
      callNextBtn.click();
      return;
    }
    if (key === "t") {
      if (!transferSelect.disabled) {
        ev.preventDefault();
        transferSelect.focus();
      }
      return;
    }
    var btn = document.querySelector('#current [data-key="' + key + '"]');
    if (btn) {
      ev.preventDefault();
      if (!btn.disabled) btn.click();
    }
  });

  /* ---- the printer banner ---------------------------------------------------------- */

  var printerBanner = document.getElementById("printer-banner");
  var printerTitles = K.strings.printer_titles || {};
  var printerHelp = K.strings.printer_help || {};

  /** {available, reason} from /api/v1/services or a `printer.status` event: a banner while
   * the printer is down (naming the reason), a softer one while its paper runs low. */
  function showPrinter(printer) {
    if (!printer) return;
    var reason = printer.reason || "";
    var level = printer.available === false ? "down" : (reason === "paper_low" ? "low" : "");
    printerBanner.hidden = !level;
    printerBanner.setAttribute("data-level", level);
    printerBanner.setAttribute("data-reason", reason);
    if (!level) return;
    var title = level === "low" ? printerTitles.paper_low : (printerTitles[reason] || printerTitles[""]);
    document.getElementById("printer-banner-title").textContent = title || "";
    document.getElementById("printer-banner-help").textContent = printerHelp[level] || "";
  }

  function refreshPrinter() {
    return K.api("GET", "/api/v1/services").then(function (body) {
      showPrinter(body && body.printer);
    }, function () { /* keep the last state; the connection indicator says why */ });
  }

  /* ---- live ----------------------------------------------------------------------- */

  K.events(
    { "ticket.issued": refreshSoon, "ticket.called": refreshSoon, "ticket.updated": refreshSoon,
      "printer.status": function (data) { showPrinter(K.printerFact(data)); } },
    { onOpen: function () { refresh(); refreshPrinter(); }, onState: indicator }
  );
  refresh();
})();
