/* The desk console's case panel: record what the resident came for as a case (linked to
 * the ticket at this counter), answer-and-close or hand over; and the alert strip of
 * overdue / due-soon cases and inquiry tickets waiting too long, kept live over SSE. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var names = K.readJson("dc-strings").names;
  var form = document.getElementById("dc-form");
  if (!form) return;
  var alerts = document.getElementById("dc-alerts");
  var counter = document.body.getAttribute("data-counter");
  var submitter = null;

  form.querySelectorAll("button[type=submit]").forEach(function (b) {
    b.addEventListener("click", function () { submitter = b.value; });
  });

  function currentTicket() {
    if (!document.getElementById("dc-ticket").checked) return Promise.resolve(null);
    return K.api("GET", "/api/v1/counters/" + encodeURIComponent(counter)).then(function (data) {
      var list = (data && data.tickets) || [];
      return list.length ? list[list.length - 1] : null;
    });
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var action = submitter || "handover";
    submitter = null;
    var type = form.querySelector("input[name=type]:checked").value;
    var body = { type: type, description: form.description.value, channel: "counter" };
    if (form.category.value) body.category = form.category.value;
    var answer = form.answer.value;
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    currentTicket().then(function (ticket) {
      if (ticket) body.ticket_id = ticket.id;
      if (ticket && ticket.resident_id) body.resident_id = ticket.resident_id;
      return K.api("POST", "/api/v1/cases", body);
    }).then(function (c) {
      var base = "/api/v1/cases/" + c.id + "/";
      var next;
      if (action === "close") {
        next = (answer && type !== "inquiry" ? K.api("POST", base + "feedback", { text: answer, method: "in_person" })
          : Promise.resolve()).then(function () {
          return K.api("POST", base + "close", answer ? { text: answer } : {});
        }).then(function () { K.toast(K.t("dc.closed", { no: K.caseNumber(c.id) }), "success"); });
      } else {
        next = (answer ? K.api("POST", base + "answer", { text: answer }) : Promise.resolve()).then(function () {
          return K.api("POST", base + "assign", {});
        }).then(function (a) {
          K.toast(K.t("dc.handed", { no: K.caseNumber(c.id), team: names.team[a.team] || a.team }), "success");
        });
      }
      return next.then(function () { form.reset(); }, function (err) {
        K.toast(K.t("dc.saved", { no: K.caseNumber(c.id) }));
        throw err;
      });
    }).catch(K.toastError).then(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });

  function renderAlerts(data) {
    alerts.textContent = "";
    var items = [];
    (data.overdue || []).forEach(function (c) { items.push(["overdue", K.caseNumber(c.id) + " " + (names.type[c.type] || c.type) + " · " + c.description, "/cases/" + c.id]); });
    (data.due_soon || []).forEach(function (c) { items.push(["due_soon", K.caseNumber(c.id) + " " + (names.type[c.type] || c.type) + " · " + c.description, "/cases/" + c.id]); });
    (data.tickets || []).forEach(function (tk) {
      items.push([tk.sla, K.t(tk.sla === "overdue" ? "dc.ticket_waiting" : "dc.ticket_soon", { number: tk.number }), null]);
    });
    items.slice(0, 6).forEach(function (it) {
      var text = [K.el("strong", { text: K.t("dc." + it[0]) + " " }), it[1]];
      alerts.appendChild(K.el(it[2] ? "a" : "p", { class: "dc-alert sla-" + it[0], href: it[2] || null }, text));
    });
    alerts.hidden = !items.length;
  }
  function refresh() { K.api("GET", "/api/v1/cases/alerts").then(renderAlerts, function () {}); }
  var soon = K.debounce(refresh, 300);
  K.events({ "case.overdue": soon, "case.due_soon": soon, "case.updated": soon, "case.created": soon,
             "ticket.called": soon }, { onOpen: refresh });
  setInterval(refresh, 30000);
})();
