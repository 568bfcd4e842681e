/* The command center's forms on the issue page: the searchable unit picker of 交办/改派,
   the warning (and the required reason) for a unit outside the place's responsible
   units, and the merge form's look-up of the original issue by its number.
   Loaded as a static script (no inline script: CSP). */
(function () {
  "use strict";

  function setup(form) {
    var select = form.querySelector("select[name=unit]");
    var search = form.querySelector(".cg-unit-search");
    var note = form.querySelector("textarea[name=note]");
    var warn = form.querySelector(".cg-warn");
    var label = note ? form.querySelector('label[for="' + note.id + '"]') : null;
    var place = (form.getAttribute("data-cg-responsible") || "").split(/\s+/).filter(Boolean);
    var owner = form.getAttribute("data-cg-owner") || "";
    var baseRequired = note && note.required;
    var baseLabel = label ? label.textContent : "";
    var baseMsg = note ? note.getAttribute("data-cg-msg") : "";

    function outside() {
      var unit = select.value;
      return !!unit && place.indexOf(unit) < 0 && unit !== owner;
    }
    function refresh() {
      var off = outside();
      warn.hidden = !off;
      form.setAttribute("data-cg-outside", off ? "true" : "false");
      if (!note) return;
      note.required = off || baseRequired;
      note.setAttribute("data-cg-msg", off ? "所选单位不是该位置的责任单位，请填写理由" : baseMsg);
      if (label) label.textContent = off ? "理由（必填：所选单位不在责任单位之列）" : baseLabel;
    }
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var hit = !q || o.text.toLowerCase().indexOf(q) >= 0;
        o.hidden = !hit;
        if (hit && !first) first = o;
      });
      var cur = select.options[select.selectedIndex];
      if ((!cur || cur.hidden) && first) select.value = first.value;
      refresh();
    });
    select.addEventListener("change", refresh);
    refresh();
  }

  function setupMerge(form) {
    var input = form.querySelector("input[name=into]");
    var out = form.querySelector("#cg-merge-found");
    var timer = null;
    function look() {
      var n = Number(input.value);
      if (!Number.isInteger(n) || n < 1) { out.textContent = ""; return; }
      if (String(n) === form.getAttribute("data-cg-self")) { out.textContent = "不能合并到本问题自身。"; return; }
      fetch("/api/v1/issues/" + n, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) {
          if (r.status === 404) { out.textContent = "找不到问题 #" + n + "。"; return null; }
          if (!r.ok) { out.textContent = "暂时无法查询问题 #" + n + "。"; return null; }
          return r.json();
        })
        .then(function (d) {
          if (!d) return;
          var where = d.address || (d.community && d.community.name) || "";
          out.textContent = "#" + d.id + " " + ((d.category && d.category.name) || "") + " · " +
            (d.state_label || d.state) + (where ? " · " + where : "") +
            (d.kind === "open" ? "" : "（已结，不能合并到已结问题）");
        }, function () { out.textContent = ""; });
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(look, 300);
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.cg-dispatch-form"), setup);
  Array.prototype.forEach.call(document.querySelectorAll("form.cg-merge-form"), setupMerge);
})();
