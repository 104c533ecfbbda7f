/* On-screen keyboards for the touchscreen, which has no keyboard: a field says which one
 * it wants with data-keyboard and the form holds one [data-kb] box the keyboard is drawn in.
 *   digits  – phone numbers (and "X" for ID numbers with data-keyboard-x)
 *   pinyin  – Chinese by pinyin: letters compose a syllable, candidates come from
 *             /kiosk/pinyin.json (built from an offline table); "ABC" types Latin letters
 *   unit    – the units of the resident directory, picked part by part (3 → 2 → 501), on an
 *             enrolled kiosk (/kiosk/units.json); elsewhere digits and "-"
 * Only taps: nothing here listens for key presses, so a hardware keyboard or a wedge
 * scanner still types into the fields as before. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var PAGE = 8;
  var UNIT_PAGE = 12;
  var LETTERS = ["qwertyuiop", "asdfghjkl", "zxcvbnm"];
  var table = null;
  var tableLoading = null;
  var units = [];
  var unitsAsked = false;

  /** The directory's units, given to an enrolled kiosk only; anywhere else the unit field
   * keeps the digits keyboard (and "-"). Asked once, when a unit field is first used. */
  function loadUnits(board) {
    if (unitsAsked) return;
    unitsAsked = true;
    K.api("GET", "/kiosk/units.json").then(function (answer) {
      units = (answer && answer.units) || [];
      if (board.field && board.field.getAttribute("data-keyboard") === "unit") board.draw();
    }, function () { /* not an enrolled kiosk: digits and "-" */ });
  }

  function loadTable() {
    if (table || tableLoading) return tableLoading;
    tableLoading = K.api("GET", "/kiosk/pinyin.json").then(function (t) { table = t; return t; },
      function () { tableLoading = null; });
    return tableLoading;
  }

  function key(label, k, cls) {
    return K.el("button", { type: "button", class: "kb-key " + (cls || ""), "data-k": k, text: label });
  }

  function Board(box, form) {
    this.box = box;
    this.form = form;
    this.field = null;
    this.compose = "";
    this.page = 0;
    this.latin = false;
    this.unitPath = [];
    var self = this;
    form.querySelectorAll("[data-keyboard]").forEach(function (f) {
      f.setAttribute("inputmode", "none");
      f.addEventListener("focus", function () { self.attach(f); });
      f.addEventListener("click", function () { self.attach(f); });
    });
    form.addEventListener("reset", function () { self.compose = ""; self.unitPath = []; self.attach(null); });
    box.addEventListener("pointerdown", function (ev) { ev.preventDefault(); });  // keep the field's focus
    box.addEventListener("click", function (ev) {
      var b = ev.target.closest("[data-k]");
      if (b) self.press(b.getAttribute("data-k"));
    });
  }

  Board.prototype.attach = function (field) {
    if (this.field && this.field !== field) this.field.classList.remove("kb-target");
    this.field = field;
    this.compose = "";
    this.page = 0;
    this.unitPath = [];
    if (field) {
      field.classList.add("kb-target");
      if (field.getAttribute("data-keyboard") === "pinyin") loadTable() && loadTable().then(this.draw.bind(this));
      if (field.getAttribute("data-keyboard") === "unit") loadUnits(this);
    }
    this.draw();
  };

  Board.prototype.put = function (text) {
    var f = this.field;
    if (!f) return;
    var max = +f.getAttribute("maxlength") || 200;
    f.value = (f.value + text).slice(0, max);
    f.removeAttribute("aria-invalid");
    f.dispatchEvent(new Event("input", { bubbles: true }));
  };

  Board.prototype.back = function () {
    if (this.compose) { this.compose = this.compose.slice(0, -1); this.page = 0; return; }
    var f = this.field;
    if (!f) return;
    f.value = Array.from(f.value).slice(0, -1).join("");
    f.dispatchEvent(new Event("input", { bubbles: true }));
  };

  Board.prototype.candidates = function () {
    if (!table || !this.compose) return [];
    var c = this.compose;
    var out = (table[c] || "").split("");
    Object.keys(table).forEach(function (s) { if (s !== c && s.indexOf(c) === 0) out = out.concat(table[s].slice(0, 3).split("")); });
    return out.filter(function (ch, i) { return out.indexOf(ch) === i; });
  };

  Board.prototype.press = function (k) {
    var kind = this.field && this.field.getAttribute("data-keyboard");
    if (k === "back") this.back();
    else if (k === "clear") { this.compose = ""; if (this.field) { this.field.value = ""; this.field.dispatchEvent(new Event("input", { bubbles: true })); } this.unitPath = []; }
    else if (k === "latin") { this.latin = !this.latin; this.compose = ""; }
    else if (k === "space") this.put(" ");
    else if (k === "prev") this.page = Math.max(0, this.page - 1);
    else if (k === "next") this.page += 1;
    else if (k.indexOf("cand:") === 0) { this.put(k.slice(5)); this.compose = ""; this.page = 0; }
    else if (k.indexOf("unit:") === 0) this.pickUnit(k.slice(5));
    else if (k === "unit-up") { this.unitPath.pop(); this.page = 0; }
    else if (kind === "pinyin" && !this.latin && /^[a-z]$/.test(k)) { if (this.compose.length < 6) this.compose += k; this.page = 0; }
    else this.put(kind === "pinyin" && this.latin ? k : k);
    this.draw();
  };

  /* ---- the unit picker: one part of "3-2-501" at a time -------------------------------- */

  Board.prototype.unitChoices = function () {
    var path = this.unitPath;
    var seen = {};
    var out = [];
    units.forEach(function (u) {
      var parts = u.split("-");
      for (var i = 0; i < path.length; i++) if (parts[i] !== path[i]) return;
      if (parts.length <= path.length) return;
      var next = parts[path.length];
      var last = parts.length === path.length + 1;
      var id = next + (last ? "" : "-");
      if (!seen[id]) { seen[id] = true; out.push({ part: next, last: last }); }
    });
    return out;
  };

  Board.prototype.pickUnit = function (choice) {
    var last = choice.charAt(choice.length - 1) !== "-";
    var part = last ? choice : choice.slice(0, -1);
    this.unitPath.push(part);
    this.page = 0;
    if (last && this.field) {
      this.field.value = this.unitPath.join("-");
      this.field.removeAttribute("aria-invalid");
      this.field.dispatchEvent(new Event("input", { bubbles: true }));
      this.unitPath = [];
    }
  };

  /* ---- drawing ------------------------------------------------------------------------- */

  Board.prototype.pager = function (total, size) {
    var pages = Math.ceil(total / size);
    if (pages <= 1) return null;
    this.page = Math.min(this.page, pages - 1);
    return [key("‹", "prev", "kb-page"), key("›", "next", "kb-page")];
  };

  Board.prototype.draw = function () {
    var box = this.box;
    var kind = this.field && this.field.getAttribute("data-keyboard");
    if (kind === "unit" && !units.length) kind = "digits";  // no unit list (yet, or not for this screen)
    box.textContent = "";
    box.hidden = !kind;
    box.setAttribute("data-kind", kind || "");
    if (!kind) return;
    var self = this;
    if (kind === "digits") {
      var last = this.field.hasAttribute("data-keyboard-x") ? "X" : "-";
      var pad = K.el("div", { class: "kb-grid kb-digits" });
      ["1", "2", "3", "4", "5", "6", "7", "8", "9", last, "0"].forEach(function (d) { pad.appendChild(key(d, d)); });
      pad.appendChild(key("⌫", "back", "kb-back"));
      box.appendChild(pad);
      return;
    }
    if (kind === "unit") {
      var choices = this.unitChoices();
      var head = K.el("div", { class: "kb-row kb-unit-head" }, [
        K.el("span", { class: "kb-compose", text: this.unitPath.length ? this.unitPath.join("-") + "-" : K.t("keys.pick_unit") }),
        this.unitPath.length ? key(K.t("keys.unit_up"), "unit-up", "kb-wide") : null,
        key(K.t("keys.clear"), "clear", "kb-wide")]);
      box.appendChild(head);
      var grid = K.el("div", { class: "kb-grid kb-units" });
      choices.slice(this.page * UNIT_PAGE, (this.page + 1) * UNIT_PAGE).forEach(function (c) {
        grid.appendChild(key(c.part, "unit:" + c.part + (c.last ? "" : "-"), c.last ? "kb-unit-last" : ""));
      });
      if (!choices.length) grid.appendChild(K.el("p", { class: "kb-note", text: K.t("keys.no_units") }));
      box.appendChild(grid);
      var pg = this.pager(choices.length, UNIT_PAGE);
      if (pg) box.appendChild(K.el("div", { class: "kb-row kb-pager" }, pg));
      return;
    }
    // pinyin / Latin letters
    var cands = this.latin ? [] : this.candidates();
    var strip = K.el("div", { class: "kb-row kb-cands" }, [K.el("span", { class: "kb-compose", text: this.compose || (this.latin ? "ABC" : K.t("keys.pinyin_hint")) })]);
    cands.slice(this.page * PAGE, (this.page + 1) * PAGE).forEach(function (ch) { strip.appendChild(key(ch, "cand:" + ch, "kb-cand")); });
    var pg2 = this.pager(cands.length, PAGE);
    if (pg2) pg2.forEach(function (b) { strip.appendChild(b); });
    box.appendChild(strip);
    LETTERS.forEach(function (row, i) {
      var r = K.el("div", { class: "kb-row kb-letters" });
      row.split("").forEach(function (ch) { r.appendChild(key(self.latin ? ch.toUpperCase() : ch, self.latin ? ch.toUpperCase() : ch)); });
      if (i === 2) r.appendChild(key("⌫", "back", "kb-back"));
      box.appendChild(r);
    });
    box.appendChild(K.el("div", { class: "kb-row kb-bottom" }, [
      key(this.latin ? "中" : "ABC", "latin", "kb-wide"), key(K.t("keys.space"), "space", "kb-space"), key(K.t("keys.clear"), "clear", "kb-wide")]));
  };

  document.querySelectorAll("[data-kb]").forEach(function (box) {
    var form = box.closest("form, section");
    if (form) box.kioskBoard = new Board(box, form);
  });
})();
