/* 长辈模式 (elder mode) on the touchscreen: one toggle on the home screen makes all text at
 * least 32 px with stronger contrast, and has each screen's prompt spoken through the hall
 * speaker when the screen is shown (the server says a fixed text per prompt). It ends by
 * itself when the screen has been left alone, as the language does. It only watches which
 * screen is visible, so the other kiosk scripts need not know about it. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var IDLE_SECONDS = 90;
  var KEY = "kiosk.elder";
  var toggle = document.getElementById("elder");
  if (!toggle) return;
  //: element id → prompt, for the screens that speak when they appear
  var SCREENS = { result: "ticket", "ci-id": "id", "ci-visitor": "visitor", "ci-greeting": "greeting",
                  "kc-file": "case", "kc-rate": "rating", "kc-quest": "survey", "k-error": "error", home: "home" };
  var on = false;
  var idle = null;

  function say(prompt) {
    if (!on) return;
    K.api("POST", "/kiosk/prompt", { prompt: prompt }).then(function () {
      document.body.setAttribute("data-last-prompt", prompt);
    }, function () { /* the speaker is a help, not a step: nothing to show */ });
  }

  function set(value, speak) {
    on = !!value;
    document.body.classList.toggle("elder", on);
    toggle.setAttribute("aria-pressed", on ? "true" : "false");
    try { if (on) sessionStorage.setItem(KEY, "1"); else sessionStorage.removeItem(KEY); } catch (e) { /* private mode */ }
    if (on && speak) say("elder_on");
    noteActivity();
  }

  function noteActivity() {
    clearTimeout(idle);
    if (on) idle = setTimeout(function () { set(false); }, IDLE_SECONDS * 1000);
  }
  ["pointerdown", "keydown"].forEach(function (name) { document.addEventListener(name, noteActivity, true); });
  toggle.addEventListener("click", function () { set(!on, true); });

  var observer = new MutationObserver(function (changes) {
    changes.forEach(function (c) {
      var el = c.target;
      if (!el.hidden && SCREENS[el.id] && (el.id !== "home" || c.oldValue !== null)) say(SCREENS[el.id]);
    });
  });
  Object.keys(SCREENS).forEach(function (id) {
    var el = document.getElementById(id);
    if (el) observer.observe(el, { attributes: true, attributeFilter: ["hidden"], attributeOldValue: true });
  });

  var stored = false;
  try { stored = sessionStorage.getItem(KEY) === "1"; } catch (e) { stored = false; }
  set(stored, false);
})();
