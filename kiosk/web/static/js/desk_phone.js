/* The desk phone's screen-pop. On a `call.incoming` event it fetches the
 * staff-only screen-pop (/api/v1/calls/<id>: the caller, the matched resident, their
 * open cases and last visits) and shows it; one click opens an inquiry case from the
 * call (POST /api/v1/cases, channel "phone"), another marks the call handled. The
 * "Calls" link in the top bar shows how many calls are missed. Uses app.js helpers. */
(function () {
  "use strict";
  var K = window.Kiosk;
  var pop = document.getElementById("phone-pop");
  if (!K || !pop) return;
  var names = K.readJson("phone-strings").names;

  function $(id) { return document.getElementById(id); }

  var current = null;
  var missedPill = $("phone-missed");
  var caseBtn = $("phone-pop-case");
  var handledBtn = $("phone-pop-handled");
  var note = $("phone-pop-note");

  function pretty(number) {
    var d = String(number || "");
    var m = /^(?:\+?86|0)?(1\d{10})$/.exec(d.replace(/[\s-]/g, ""));  // a mobile, maybe with +86 or a PBX 0
    if (m) return m[1].slice(0, 3) + " " + m[1].slice(3, 7) + " " + m[1].slice(7);
    return d;
  }

  function callerLabel(call) {
    if (call.kind === "private") return K.t("phone.private");
    if (call.kind === "out_of_area") return K.t("phone.out_of_area");
    return pretty(call.number);
  }

  function dateOf(iso) {
    var m = /^\d{4}-(\d\d)-(\d\d)/.exec(iso || "");
    return m ? m[1] + "/" + m[2] : "";
  }

  function fillList(box, list, items, render) {
    list.textContent = "";
    items.forEach(function (item) { list.appendChild(render(item)); });
    box.hidden = items.length === 0;
  }

  function show(call) {
    current = call;
    pop.dataset.callId = String(call.id);
    pop.dataset.kind = call.kind;
    pop.dataset.matched = call.resident ? "1" : "0";
    $("phone-pop-time").textContent = K.t("phone.at", { time: K.hhmm(call.started_at) });
    $("phone-pop-number").textContent = callerLabel(call);
    var notice = $("phone-pop-notice");
    notice.hidden = call.kind === "normal";
    notice.textContent = call.kind === "private" ? K.t("phone.private_notice") : call.kind === "out_of_area" ? K.t("phone.out_of_area_notice") : "";
    var name = $("phone-pop-name");
    var unit = $("phone-pop-unit");
    if (call.resident) {
      name.textContent = call.resident.name || "";
      unit.textContent = call.resident.unit ? K.t("phone.unit", { unit: call.resident.unit }) : "";
      name.classList.remove("is-unknown");
    } else {
      name.textContent = call.kind === "normal" ? K.t("phone.no_match") : "";
      unit.textContent = call.name ? K.t("phone.caller_name", { name: call.name }) : "";
      name.classList.add("is-unknown");
    }
    fillList($("phone-pop-cases-box"), $("phone-pop-cases"), call.open_cases || [], function (c) {
      var li = K.el("li", { class: "phone-pop-case", dataset: { caseId: c.id } }, [
        K.el("a", { href: "/cases/" + c.id, text: K.t("phone.case_line", { no: K.caseNumber(c.id), type: names.type[c.type] || c.type, status: names.status[c.status] || c.status }) }),
      ]);
      if (c.due_at) li.appendChild(K.el("span", { class: "phone-pop-due", text: K.t("phone.due", { time: dateOf(c.due_at) + " " + K.hhmm(c.due_at) }) }));
      if (c.due_at && call.started_at && Date.parse(c.due_at) < Date.parse(call.started_at)) {
        li.classList.add("is-overdue");
        li.appendChild(K.el("span", { class: "phone-pop-overdue", text: K.t("phone.overdue") }));
      }
      if (c.description) li.appendChild(K.el("span", { class: "phone-pop-desc", text: c.description }));
      return li;
    });
    fillList($("phone-pop-visits-box"), $("phone-pop-visits"), call.last_visits || [], function (v) {
      return K.el("li", { class: "phone-pop-visit" }, [
        K.el("span", { text: K.t("phone.visit_line", { date: dateOf(v.checked_in_at), time: K.hhmm(v.checked_in_at) }) }),
        v.purpose ? K.el("span", { class: "phone-pop-desc", text: v.purpose }) : null,
      ]);
    });
    note.value = "";
    setDone(call.case_id ? K.t("phone.case_link", { id: K.caseNumber(call.case_id) }) : "", call.case_id);
    caseBtn.disabled = !!call.case_id;
    handledBtn.disabled = call.status === "handled";
    pop.hidden = false;
    pop.classList.remove("is-new");
    void pop.offsetWidth;  // restart the ring animation
    pop.classList.add("is-new");
    pop.dataset.shownAt = String(performance.timeOrigin + performance.now());  // bench/phone_pop.py reads it
  }

  function setDone(text, caseId) {
    var done = $("phone-pop-done");
    done.textContent = "";
    done.hidden = !text;
    if (!text) return;
    if (caseId) done.appendChild(K.el("a", { href: "/cases/" + caseId, text: text }));
    else done.textContent = text;
  }

  function hide() {
    pop.hidden = true;
    current = null;
    pop.dataset.callId = "";
  }

  function refreshMissed() {
    if (!missedPill) return;
    K.api("GET", "/api/v1/calls/missed?limit=1").then(function (data) {
      var n = data ? data.missed : 0;
      missedPill.textContent = String(n);
      missedPill.title = K.t("phone.missed", { n: n });
      missedPill.hidden = !n;
    }, function () { /* the next event retries */ });
  }

  function incoming(ev) {
    K.api("GET", "/api/v1/calls/" + encodeURIComponent(ev.id)).then(show, K.toastError);
    refreshMissed();
  }

  caseBtn.addEventListener("click", function () {
    if (!current) return;
    var call = current;
    var text = note.value.trim() || K.t("phone.case_description", { caller: callerLabel(call), time: K.hhmm(call.started_at) });
    var picked = document.querySelector('input[name="phone-pop-type"]:checked');
    var body = { type: picked ? picked.value : "inquiry", channel: "phone", call_id: call.id, description: text };
    if (call.resident) body.resident_id = call.resident.id;
    caseBtn.disabled = true;
    K.api("POST", "/api/v1/cases", body).then(function (created) {
      call.case_id = created.id;
      call.status = "handled";
      handledBtn.disabled = true;
      setDone(K.t("phone.case_link", { id: K.caseNumber(created.id) }), created.id);
      pop.dataset.caseId = String(created.id);
      K.toast(K.t("phone.case_opened", { id: K.caseNumber(created.id) }), "success");
      refreshMissed();
    }, function (err) {
      caseBtn.disabled = false;
      K.toastError(err);
    });
  });

  handledBtn.addEventListener("click", function () {
    if (!current) return;
    handledBtn.disabled = true;
    K.api("POST", "/api/v1/calls/" + current.id + "/handled").then(function () {
      K.toast(K.t("phone.handled"), "success");
      hide();
      refreshMissed();
    }, function (err) {
      handledBtn.disabled = false;
      K.toastError(err);
    });
  });

  $("phone-pop-close").addEventListener("click", hide);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !pop.hidden) hide();
  });

  K.events({ "call.incoming": incoming }, {
    onOpen: refreshMissed,
    onState: function (state) { pop.dataset.live = state; },  // tests wait for "open"
  });
  refreshMissed();
})();
