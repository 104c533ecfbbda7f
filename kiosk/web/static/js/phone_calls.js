/* The call log: "Called back: mark handled" on a missed call (POST /api/v1/calls/<id>/handled). */
(function () {
  "use strict";
  var K = window.Kiosk;
  var table = document.getElementById("missed-calls");
  if (!K || !table) return;
  table.addEventListener("click", function (e) {
    var btn = e.target.closest("[data-handled]");
    if (!btn) return;
    btn.disabled = true;
    K.api("POST", "/api/v1/calls/" + encodeURIComponent(btn.getAttribute("data-handled")) + "/handled").then(function () {
      K.toast(K.t("handled"), "success");
      window.location.reload();
    }, function (err) {
      btn.disabled = false;
      K.toastError(err);
    });
  });
})();
