/* The work pages (issue page, queues, home): action forms, Chinese messages, session
   renewal, the small map. Loaded as a static script (no inline script: CSP). */
(function () {
  "use strict";
  var STATUS_TEXT = {
    400: "请求有误，请检查后重试。",
    401: "登录已过期，请重新登录。",
    403: "您没有权限执行此操作。",
    404: "找不到该问题，或它不在您的办理范围内。",
    409: "该问题已被他人更新或当前状态不允许此操作，请刷新页面后重试。",
    413: "上传的文件过大。",
    422: "填写的内容有误，请按提示修改。",
    429: "操作过于频繁，请稍后再试。",
    503: "系统繁忙，请稍后再试。"
  };
  var FIELD_TEXT = {
    missing: "此项必填",
    string_too_short: "此项不能为空",
    string_too_long: "内容过长",
    int_parsing: "请填写整数",
    int_type: "请填写整数",
    bool_parsing: "请选择",
    greater_than_equal: "数值过小",
    less_than_equal: "数值过大",
    literal_error: "选项无效",
    extra_forbidden: "不接受此项"
  };

  function toast(text) {
    var t = document.getElementById("cg-toast");
    if (!t) { t = document.createElement("div"); t.id = "cg-toast"; t.setAttribute("role", "alert"); document.body.appendChild(t); }
    t.textContent = text;
    t.className = "cg-show";
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.className = ""; }, 6000);
  }

  function toLogin() {
    var here = window.location.pathname + window.location.search;
    window.location.assign("/login?next=" + encodeURIComponent(here));
  }

  function fieldError(form, name, text) {
    var p = form.querySelector('.cg-field-err[data-for="' + name + '"]');
    if (p) { p.textContent = text; return true; }
    return false;
  }

  function clearErrors(form) {
    Array.prototype.forEach.call(form.querySelectorAll(".cg-field-err"), function (p) { p.textContent = ""; });
  }

  function valueOf(form, name) {
    var el = form.elements[name];
    if (!el) return "";
    if (el.length !== undefined && el.tagName !== "SELECT") {
      var v = "";
      Array.prototype.forEach.call(el, function (r) { if (r.checked) v = r.value; });
      return v;
    }
    return el.value;
  }

  /* Client checks, in Chinese: required fields, files, integers, conditional notes. */
  function check(form) {
    var ok = true;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) return;
      var msg = el.getAttribute("data-cg-msg") || "此项必填";
      var bad = false;
      if (el.required) {
        if (el.type === "file") bad = !el.files || el.files.length === 0;
        else if (el.type === "radio") bad = valueOf(form, el.name) === "";
        else bad = !String(el.value || "").trim();
      }
      if (!bad && el.hasAttribute("data-cg-int") && el.value !== "") {
        var n = Number(el.value);
        bad = !(Number.isInteger(n) && n >= Number(el.min || -Infinity) && n <= Number(el.max || Infinity));
      }
      var cond = el.getAttribute("data-cg-required-if");
      if (!bad && cond) {
        var kv = cond.split("=");
        bad = valueOf(form, kv[0]) === kv[1] && !String(el.value || "").trim();
      }
      if (bad) { ok = false; fieldError(form, el.name, msg); }
    });
    return ok;
  }

  function body(form) {
    if (form.getAttribute("data-cg-kind") === "multipart") return new FormData(form);
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.type === "submit" || el.type === "file") return;
      if ((el.type === "radio" || el.type === "checkbox") && !el.checked) return;
      if (el.value === "") return;
      out[el.name] = el.value;
    });
    return out;
  }

  function showProblem(form, status, p) {
    if (status === 401) { toast(STATUS_TEXT[401]); setTimeout(toLogin, 800); return; }
    var shown = false;
    if (status === 422 && p) {
      (p.errors || []).forEach(function (e) {
        var loc = (e.loc || []).filter(function (x) { return typeof x === "string" && x !== "body"; });
        var name = loc[loc.length - 1];
        if (name && fieldError(form, name, FIELD_TEXT[e.type] || "填写有误")) shown = true;
      });
      if (!shown && p.field && fieldError(form, p.field, "填写有误，请检查此项")) shown = true;
    }
    toast(STATUS_TEXT[status] || ("操作失败（" + status + "），请稍后再试。"));
  }

  function send(form) {
    var url = form.getAttribute("data-cg-api");
    var payload = body(form);
    var opts = { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" } };
    if (payload instanceof FormData) opts.body = payload;
    else { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(payload); }
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    return fetch(url, opts).then(function (r) {
      if (r.ok) {
        toast("已提交。");
        var next = form.getAttribute("data-cg-next");
        window.location.assign(next || window.location.pathname + window.location.search);
        return;
      }
      return r.json().catch(function () { return null; }).then(function (p) {
        showProblem(form, r.status, p);
        if (button) button.disabled = false;
      });
    }, function () {
      toast("网络连接失败，请检查网络后重试。");
      if (button) button.disabled = false;
    });
  }

  document.addEventListener("submit", function (e) {
    var f = e.target;
    if (!f.matches || !f.matches("form[data-cg-api]")) return;
    e.preventDefault();
    clearErrors(f);
    if (!check(f)) { toast("请按提示填写后再提交。"); return; }
    send(f);
  });

  /* Session renewal: while the page is used, renew the session cookie at most every
     RENEW_MS; an expired session sends the next action to the login page and back. */
  var RENEW_MS = 5 * 60 * 1000;
  var last = Date.now();
  function renew() {
    if (Date.now() - last < RENEW_MS) return;
    last = Date.now();
    fetch("/session/renew", { method: "POST", credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (r.status === 401) toLogin(); }, function () {});
  }
  ["click", "keydown", "input", "scroll"].forEach(function (ev) {
    document.addEventListener(ev, renew, { passive: true });
  });
  window.civgridWork = { renew: function () { last = 0; renew(); }, toast: toast };

  /* The small map (Leaflet from the vendor folder, when the page has it). */
  var el = document.getElementById("cg-issue-map");
  if (el && window.L) {
    var lat = Number(el.getAttribute("data-lat")), lon = Number(el.getAttribute("data-lon"));
    var map = L.map(el, { zoomControl: true, attributionControl: false }).setView([lat, lon], 16);
    var tiles = el.getAttribute("data-tiles");
    if (tiles) L.tileLayer(tiles, { maxZoom: 19 }).addTo(map);
    L.circleMarker([lat, lon], { radius: 8, color: "#b3261e", fillOpacity: 0.8 }).addTo(map);
  }
})();
