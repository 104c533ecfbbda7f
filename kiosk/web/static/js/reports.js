/* Reports pages: draw a spot-check sample, judge its items, record and update improvement actions. */
(function () {
  "use strict";
  var K = window.Kiosk;
  function values(form) {
    var body = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.value === "") return;
      body[el.name] = el.type === "number" ? Number(el.value) : el.value;
    });
    return body;
  }
  var spot = document.getElementById("spot-form");
  if (spot) spot.addEventListener("submit", function (ev) {
    ev.preventDefault();
    K.api("POST", "/api/v1/spot-checks", values(spot)).then(function (c) {
      window.location.href = "/reports/spot-checks/" + c.id;
    }, K.toastError);
  });
  var action = document.getElementById("action-form");
  if (action) action.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var body = values(action);
    body.month = action.getAttribute("data-month");
    K.api("POST", "/api/v1/improvement-actions", body).then(function () { window.location.reload(); }, K.toastError);
  });
  document.querySelectorAll("[data-save]").forEach(function (b) {
    b.addEventListener("click", function () {
      var tr = b.closest("tr");
      K.api("POST", "/api/v1/improvement-actions/" + tr.getAttribute("data-action-id"), {
        status: tr.querySelector('[data-field="status"]').value,
        progress: tr.querySelector('[data-field="progress"]').value,
      }).then(function () { K.toast(K.t("saved"), "success"); }, K.toastError);
    });
  });
  document.querySelectorAll("[data-judge]").forEach(function (b) {
    b.addEventListener("click", function () {
      var tr = b.closest("tr");
      if (!tr.querySelector('[data-field="verdict"]').value) return;
      K.api("POST", "/api/v1/spot-check-items/" + tr.getAttribute("data-item-id"), {
        verdict: tr.querySelector('[data-field="verdict"]').value,
        remark: tr.querySelector('[data-field="remark"]').value,
      }).then(function () { K.toast(K.t("saved"), "success"); }, K.toastError);
    });
  });
})();
