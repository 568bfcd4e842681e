// The publish button of a draft bulletin (印发本期通报): POST /api/v1/bulletins, then the
// published bulletin. A static script (no inline handler under the CSP); Chinese messages.
document.addEventListener("click", function (ev) {
  var b = ev.target.closest && ev.target.closest("#cg-publish");
  if (!b) return;
  ev.preventDefault();
  var msg = document.getElementById("cg-publish-msg");
  var period = b.getAttribute("data-period");
  if (!window.confirm("印发 " + period + " 通报？印发后内容固定，不可修改。")) return;
  var body = { period: period };
  if (b.getAttribute("data-profile")) body.profile = b.getAttribute("data-profile");
  b.disabled = true;
  msg.textContent = "印发中…";
  fetch("/api/v1/bulletins", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(body),
  })
    .then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (d) {
        if (r.status === 201 && d.id) {
          window.location.assign("/bulletins/" + d.id);
          return;
        }
        b.disabled = false;
        msg.textContent =
          r.status === 409 ? "本期通报已经印发，请刷新页面查看。" :
          r.status === 401 ? "登录已过期，请重新登录后再印发。" :
          r.status === 403 ? "您没有印发通报的权限。" :
          "印发未成功（" + r.status + "），请稍后再试。";
      });
    }, function () {
      b.disabled = false;
      msg.textContent = "网络连接失败，请检查网络后重试。";
    });
});
