/* The hall display's notices: one at a time, the next every few seconds, the list read
 * again every minute so the manager's changes appear without a reload. */
(function () {
  "use strict";
  var ROTATE_SECONDS = 8;
  var REFRESH_SECONDS = 60;
  var box = document.getElementById("notices");
  var line = document.getElementById("notice");
  if (!box || !line) return;
  var notices = [];
  try { notices = JSON.parse(document.getElementById("notices-data").textContent) || []; } catch (e) { notices = []; }
  var index = 0;

  function show() {
    box.hidden = !notices.length;
    if (!notices.length) return;
    index = index % notices.length;
    line.textContent = notices[index];
    line.setAttribute("data-index", String(index));
  }
  setInterval(function () { index += 1; show(); }, ROTATE_SECONDS * 1000);
  setInterval(function () {
    fetch("/display/notices.json").then(function (r) { return r.json(); }).then(function (body) {
      notices = body.notices || [];
      show();
    }, function () { /* keep what is shown */ });
  }, REFRESH_SECONDS * 1000);
  show();
})();
