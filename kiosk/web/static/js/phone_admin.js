/* The manager page's "simulate an incoming call" (phone.port = "sim"): POSTs the caller
 * ID to /api/v1/phone/simulate; the simulated modem then rings like a real one. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var form = document.getElementById("phone-sim");
  if (!K || !form) return;
  var S = K.readJson("phone-admin-strings");
  var number = form.elements.number;
  var kind = form.elements.kind;
  kind.addEventListener("change", function () { number.disabled = kind.value !== "normal"; });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var body = { number: kind.value === "normal" ? number.value.trim() : kind.value, name: form.elements.name.value.trim() };
    var btn = document.getElementById("phone-simulate");
    btn.disabled = true;
    K.api("POST", form.getAttribute("data-endpoint"), body).then(function () {
      K.toast(S.rang || "Ringing", "success");
    }, K.toastError).then(function () { btn.disabled = false; });
  });
})();
