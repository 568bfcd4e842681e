// The leader map's "考核得分（本月）" table: loaded from the API by this static script
// (no inline script under the Content-Security-Policy). The box carries the leader's
// dashboard URL and the tier labels in data attributes.
(function () {
  function fill() {
    var box = document.getElementById("cg-leader-scores");
    if (!box) return;
    var tiers = JSON.parse(box.getAttribute("data-tiers") || "{}");
    fetch(box.getAttribute("data-url"))
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d) return;
        var body = document.getElementById("cg-leader-scores-body");
        d.rows.forEach(function (r) {
          var tr = document.createElement("tr");
          [r.name, Math.round(r.points * 100) / 100, (r.rank || "—") + "/" + r.of,
           tiers[r.tier] || "未抽查"].forEach(function (v) {
            var td = document.createElement("td");
            td.textContent = v;
            tr.appendChild(td);
          });
          body.appendChild(tr);
        });
      });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fill);
  else fill();
})();
