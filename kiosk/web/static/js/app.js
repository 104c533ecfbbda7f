/* Shared helpers for every page: translated strings, a fetch wrapper that adds the CSRF
 * header and turns error bodies into readable messages, toasts, a Server-Sent Events
 * helper that reconnects, and the clock. No dependencies; loaded before page scripts. */
(function () {
  "use strict";

  var K = (window.Kiosk = {});

  function readJson(id) {
    var el = document.getElementById(id);
    if (!el) return {};
    try {
      return JSON.parse(el.textContent || "{}") || {};
    } catch (e) {
      return {};
    }
  }

  K.strings = Object.assign({}, readJson("strings"), readJson("page-strings"));
  // A page part's own strings (<script type="application/json" data-strings="kc">) are
  // K.t("kc.<key>"): they never shadow the page's strings or the messages of error codes.
  document.querySelectorAll("script[data-strings]").forEach(function (el) {
    var prefix = el.getAttribute("data-strings") + ".";
    var part = readJson(el.id);
    Object.keys(part).forEach(function (key) { K.strings[prefix + key] = part[key]; });
  });
  K.lang = document.body.getAttribute("data-lang") || "zh_CN";
  K.readJson = readJson;

  /** The translated string `key` with {name} placeholders filled from `vars`. */
  K.t = function (key, vars) {
    var s = K.strings[key];
    if (s === undefined || s === null) s = key;
    s = String(s);
    if (vars) {
      Object.keys(vars).forEach(function (name) {
        s = s.split("{" + name + "}").join(String(vars[name]));
      });
    }
    return s;
  };

  /** The number a case is known by: "C" and five digits, C00012 (kiosk/cases/rules.py case_number). */
  K.caseNumber = function (id) {
    return "C" + String(id).padStart(5, "0");
  };

  K.csrf = function () {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  };

  /** Small DOM builder: K.el("li", {class: "x", dataset: {id: 1}}, ["text", child]). */
  K.el = function (tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      var value = attrs[name];
      if (value === undefined || value === null || value === false) return;
      if (name === "dataset") {
        Object.keys(value).forEach(function (k) { node.dataset[k] = value[k]; });
      } else if (name === "text") {
        node.textContent = value;
      } else if (name.slice(0, 2) === "on" && typeof value === "function") {
        node.addEventListener(name.slice(2), value);
      } else if (value === true) {
        node.setAttribute(name, "");
      } else {
        node.setAttribute(name, value);
      }
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined || child === false) return;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    });
    return node;
  };

  /* ---- API ------------------------------------------------------------------------ */

  function ApiError(status, code, message) {
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);
  K.ApiError = ApiError;

  /** A message for the person at the screen: translated by error code where we know it. */
  K.describeError = function (err) {
    if (!err) return K.t("server_error");
    if (err.code === "network") return K.t("network_error");
    var known = K.strings[err.code];
    if (typeof known === "string") return known;
    if (err.status === 401) return K.t("unauthorized");
    if (err.status === 403) return K.t("forbidden");
    if (err.status >= 500) return K.t("server_error");
    return err.message || K.t("server_error");
  };

  /** fetch() a JSON API: resolves to the body (null on 204), rejects with ApiError. */
  K.api = function (method, url, body) {
    var headers = { Accept: "application/json" };
    var opts = { method: method, headers: headers, credentials: "same-origin", cache: "no-store" };
    if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = K.csrf();
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(url, opts).then(
      function (resp) {
        if (resp.status === 204) return null;
        return resp.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          if (!resp.ok) {
            var err = (data && data.error) || {};
            throw new ApiError(resp.status, err.code || "http_" + resp.status, err.message || resp.statusText);
          }
          return data;
        });
      },
      function () {
        throw new ApiError(0, "network", K.t("network_error"));
      }
    );
  };

  /* ---- toasts --------------------------------------------------------------------- */

  /** Show a short message; kind is "info", "success" or "error" (errors stay longer). */
  K.toast = function (message, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    kind = kind || "info";
    var close = K.el("button", { type: "button", class: "toast-close", "aria-label": K.t("dismiss"), text: "×" });
    var toast = K.el("div", { class: "toast toast-" + kind, role: kind === "error" ? "alert" : "status" },
      [K.el("span", { class: "toast-text", text: message }), close]);
    function remove() {
      if (toast.parentNode) toast.parentNode.removeChild(toast);
    }
    close.addEventListener("click", remove);
    box.appendChild(toast);
    while (box.children.length > 4) box.removeChild(box.firstChild);
    setTimeout(remove, kind === "error" ? 8000 : 3500);
    return toast;
  };

  K.toastError = function (err) {
    var msg = K.describeError(err);
    var prefix = K.t("error_prefix");
    K.toast(prefix + " " + msg + (err && err.status ? " (" + err.status + ")" : ""), "error");
  };

  /* ---- live events ---------------------------------------------------------------- */

  /**
   * Subscribe to the page's live event stream. `handlers` maps event names to functions(data, name).
   * opts.onState("connecting" | "open" | "reconnecting") reports the connection;
   * opts.onOpen() runs on every (re)connection so the page can fetch a fresh state it may
   * have missed. Returns {close}.
   *
   * A page has one stream whatever the number of subscribers: the server allows a few
   * streams per address (a desk PC may run several pages). Subscriptions made while the page loads are
   * gathered into the first connection; one that adds event types later reopens the
   * stream, resuming after the last event seen so nothing is missed or repeated. The
   * browser reconnects by itself after a dropped stream; when it gives up (an HTTP
   * error, the server gone), this reconnects with a growing delay.
   */
  K.events = function (handlers, opts) {
    if (!pageStream) pageStream = makeStream();
    var sub = { handlers: handlers, opts: opts || {} };
    pageStream.add(sub);
    return { close: function () { pageStream.remove(sub); } };
  };

  var pageStream = null;

  /**
   * Staff pages (body data-events="staff") read the staff stream, which carries what
   * their role may see (cases, calls, visits); every other page the public one, which
   * carries queue facts only (and, on the box's own kiosk, the greeting of its scans).
   */
  function streamPath() {
    return document.body.getAttribute("data-events") === "staff" ? "/api/v1/staff/events" : "/api/v1/events";
  }

  function makeStream() {
    var subs = [];
    var source = null;
    var lastId = null;
    var delay = 1000;
    var timer = null;
    var state = null;
    var types = "";
    var pending = false;

    function wanted() {
      var names = {};
      subs.forEach(function (sub) {
        Object.keys(sub.handlers).forEach(function (name) { names[name] = true; });
      });
      return Object.keys(names).sort();
    }

    function each(hook) {
      subs.slice().forEach(function (sub) { if (sub.opts[hook]) sub.opts[hook](state); });
    }

    function setState(next) {
      if (next === state) return;
      state = next;
      document.body.setAttribute("data-live", next);
      each("onState");
    }

    function dispatch(name, ev) {
      if (ev.lastEventId) lastId = ev.lastEventId;
      var data = null;
      try { data = JSON.parse(ev.data); } catch (e) { return; }
      subs.slice().forEach(function (sub) {
        if (sub.handlers[name]) sub.handlers[name](data, name);
      });
    }

    function shut() {
      if (timer) clearTimeout(timer);
      timer = null;
      if (source) source.close();
      source = null;
    }

    /** Connect once the page's scripts have all subscribed (they share the connection). */
    function reconnectSoon() {
      if (pending) return;
      pending = true;
      var go = function () { if (pending) connect(); };
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", go);
      else setTimeout(go, 0);
    }

    function connect() {
      pending = false;
      shut();
      var names = wanted();
      types = names.join(",");
      if (!names.length) return;
      var params = ["types=" + encodeURIComponent(types)];
      if (lastId) params.push("last_id=" + encodeURIComponent(lastId));
      var current = source = new EventSource(streamPath() + "?" + params.join("&"));
      current.onopen = function () {
        delay = 1000;
        setState("open");
        each("onOpen");
      };
      current.onerror = function () {
        if (current !== source) return;
        setState("reconnecting");
        if (current.readyState === EventSource.CLOSED) {
          current.close();
          if (!timer) timer = setTimeout(connect, delay);
          delay = Math.min(delay * 2, 30000);
        }
      };
      names.forEach(function (name) {
        current.addEventListener(name, function (ev) { dispatch(name, ev); });
      });
    }

    window.addEventListener("pagehide", shut);
    return {
      add: function (sub) {
        subs.push(sub);
        if (state === null) setState("connecting");
        else if (sub.opts.onState) sub.opts.onState(state);
        if (wanted().join(",") !== types) reconnectSoon();
        else if (state === "open" && sub.opts.onOpen) {
          setTimeout(sub.opts.onOpen, 0);
        }
      },
      remove: function (sub) {
        subs = subs.filter(function (other) { return other !== sub; });
        if (!subs.length) {
          shut();
          types = "";
        }
      },
    };
  }

  /**
   * The printer as the screens show it, from a `printer.status` event (status, reason):
   * {available, reason}, as `printer` in /api/v1/board and /api/v1/services. Unavailable
   * while the printer is down (tickets are issued but not printed); the reason word only
   * while it is degraded or down. The event's `error` text is never shown.
   */
  K.printerFact = function (data) {
    var status = data && data.status;
    var fault = status === "degraded" || status === "down";
    return { available: status !== "down", reason: fault ? (data.reason || null) : null };
  };

  /** Show/hide a "reconnecting" indicator element for a K.events onState callback. */
  K.liveIndicator = function (el) {
    var shown = null;
    return function (state) {
      if (!el) return;
      el.setAttribute("data-state", state);
      // Only say "reconnecting" if it lasts: a quick blip at page load is not news.
      clearTimeout(shown);
      if (state === "open") {
        el.hidden = true;
      } else {
        shown = setTimeout(function () { el.hidden = false; }, state === "connecting" ? 4000 : 1500);
      }
    };
  };

  /** Run `fn` at most once per `ms`, trailing: bursts of events cause one refresh. */
  K.debounce = function (fn, ms) {
    var t = null;
    return function () {
      clearTimeout(t);
      t = setTimeout(fn, ms);
    };
  };

  /* ---- time ----------------------------------------------------------------------- */

  function pad(n) {
    return n < 10 ? "0" + n : String(n);
  }
  K.pad = pad;

  /** "HH:MM" of an ISO timestamp as written by the server (its local time). */
  K.hhmm = function (iso) {
    if (!iso) return "";
    var m = /T(\d\d):(\d\d)/.exec(iso);
    return m ? m[1] + ":" + m[2] : "";
  };

  /** Keep every [data-clock] element showing the time and date. */
  var clockStarted = false;
  K.startClock = function () {
    if (clockStarted) return;
    clockStarted = true;
    var clocks = document.querySelectorAll("[data-clock]");
    if (!clocks.length) return;
    var weekdays = K.strings.weekdays || ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    var dayIndex = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };
    // The site's time zone, not the browser's: the box may run in UTC.
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat("en-US", { timeZone: document.body.dataset.tz || undefined, hour12: false,
        hour: "2-digit", minute: "2-digit", month: "numeric", day: "numeric", weekday: "short" });
    } catch (e) {
      fmt = new Intl.DateTimeFormat("en-US", { hour12: false, hour: "2-digit", minute: "2-digit",
        month: "numeric", day: "numeric", weekday: "short" });
    }
    function tick() {
      var parts = {};
      fmt.formatToParts(new Date()).forEach(function (p) { parts[p.type] = p.value; });
      var time = pad(Number(parts.hour) % 24) + ":" + parts.minute;
      var date = K.t("date_format", { weekday: weekdays[dayIndex[parts.weekday]], month: Number(parts.month),
                                      day: Number(parts.day) });
      clocks.forEach(function (c) {
        var t = c.querySelector("[data-clock-time]");
        var d = c.querySelector("[data-clock-date]");
        if (t && t.textContent !== time) t.textContent = time;
        if (d && d.textContent !== date) d.textContent = date;
      });
    }
    tick();
    setInterval(tick, 1000);
  };

  document.addEventListener("DOMContentLoaded", K.startClock);
  if (document.readyState !== "loading") K.startClock();
})();
