/* The case page's one rating: pick 1-5 stars (and a comment), send it once through the
 * case's capability; the page then shows the thanks. */
(function () {
  "use strict";

  var form = document.getElementById("c-rate-form");
  if (!form) return;
  var S = JSON.parse(document.getElementById("case-strings").textContent);
  var stars = Array.prototype.slice.call(form.querySelectorAll(".c-star"));
  var send = document.getElementById("c-send");
  var error = document.getElementById("c-error");
  var score = 0;

  stars.forEach(function (star) {
    star.addEventListener("click", function () {
      score = Number(star.getAttribute("data-score"));
      stars.forEach(function (s) {
        var on = Number(s.getAttribute("data-score")) <= score;
        s.classList.toggle("is-on", on);
        s.setAttribute("aria-checked", Number(s.getAttribute("data-score")) === score ? "true" : "false");
      });
      send.disabled = false;
    });
  });

  function done(text) {
    var p = document.createElement("p");
    p.className = "c-rated";
    p.id = "c-rated";
    p.textContent = text;
    form.replaceWith(p);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (!score) return;
    send.disabled = true;
    error.hidden = true;
    var body = { score: score };
    var comment = document.getElementById("c-comment").value.trim();
    if (comment) body.comment = comment;
    fetch("/api/v1/c/" + encodeURIComponent(form.getAttribute("data-cap")) + "/rating", {
      method: "POST", credentials: "omit", cache: "no-store",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (b) { return { ok: r.ok, body: b }; });
    }).then(function (res) {
      if (res.ok) return done(S.thanks);
      var code = res.body && res.body.error && res.body.error.code;
      if (code === "already_answered") return done(S.already_answered);
      error.textContent = S[code] || S.error;
      error.hidden = false;
      send.disabled = false;
    }, function () {
      error.textContent = S.error;
      error.hidden = false;
      send.disabled = false;
    });
  });
})();
