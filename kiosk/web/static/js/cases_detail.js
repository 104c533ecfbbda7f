/* One case: each form posts its action to /api/v1/cases/<id>/<action>, then reloads. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var root = document.querySelector("[data-case-id]");
  var id = root.getAttribute("data-case-id");
  document.querySelectorAll("form.cd-form").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (el.name && el.value) body[el.name] = el.value;
      });
      var button = form.querySelector("button");
      button.disabled = true;
      K.api("POST", "/api/v1/cases/" + id + "/" + form.getAttribute("data-action"), body).then(function () {
        K.toast(K.t("done"), "success");
        window.location.reload();
      }, function (err) {
        button.disabled = false;
        K.toastError(err);
      });
    });
  });
})();
