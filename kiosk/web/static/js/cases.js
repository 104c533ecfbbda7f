/* The case board: columns overdue / due soon / mine / open / recently closed, refreshed
 * live on case events; each card links to the case's page. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var names = K.readJson("case-names");
  var typeSel = document.getElementById("cb-type");
  var teamSel = document.getElementById("cb-team");
  function label(kind, key) { return (names[kind] && names[kind][key]) || key || ""; }

  [typeSel, teamSel].forEach(function (sel) { sel.addEventListener("change", refresh); });

  function card(c) {
    var due = K.hhmm(c.due_at);
    var day = (c.due_at || "").slice(5, 10);
    return K.el("li", { class: "cb-item sla-" + c.sla + " type-" + c.type, dataset: { caseId: c.id } }, [
      K.el("a", { href: "/cases/" + c.id, class: "cb-link" }, [
        K.el("span", { class: "cb-top" }, [
          K.el("span", { class: "cb-no", text: K.caseNumber(c.id) }),
          K.el("span", { class: "cb-type", text: label("type", c.type) }),
          K.el("span", { class: "cb-sla", text: label("sla", c.sla) }),
          c.escalated ? K.el("span", { class: "badge badge-esc", text: K.t("escalated") }) : null,
        ]),
        K.el("span", { class: "cb-desc", text: c.description }),
        K.el("span", { class: "cb-meta", text: [label("status", c.status), label("channel", c.channel),
          c.unit || c.contact_name || "", K.t("due", { time: day + " " + due }), c.assignee || label("team", c.team)]
          .filter(Boolean).join(" · ") }),
      ]),
    ]);
  }

  function refresh() {
    K.api("GET", "/api/v1/cases/board").then(function (board) {
      ["overdue", "due_soon", "mine", "open", "closed"].forEach(function (col) {
        var list = document.querySelector('[data-col="' + col + '"]');
        var items = (board[col] || []).filter(function (c) {
          return (!typeSel.value || c.type === typeSel.value) && (!teamSel.value || c.team === teamSel.value);
        });
        list.textContent = "";
        if (!items.length) list.appendChild(K.el("li", { class: "empty", text: K.t("none") }));
        items.forEach(function (c) { list.appendChild(card(c)); });
        document.querySelector('[data-count="' + col + '"]').textContent = items.length;
      });
      document.getElementById("cb-updated").textContent = K.t("updated", { time: K.hhmm(board.now) });
    }, K.toastError);
  }
  var soon = K.debounce(refresh, 300);
  K.events({
    "case.created": soon, "case.updated": soon,
    "case.overdue": function (d) { if (d.id) K.toast(K.t("new_overdue", { no: K.caseNumber(d.id) }), "error"); soon(); },
    "case.due_soon": function (d) { if (d.id) K.toast(K.t("new_due_soon", { no: K.caseNumber(d.id) })); soon(); },
  }, { onOpen: refresh, onState: K.liveIndicator(document.getElementById("live")) });
  setInterval(refresh, 60000);  // the due-soon/overdue columns move with time too
})();
