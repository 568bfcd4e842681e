// "打印" links of the printable pages (bulletins): a static script, since the
// Content-Security-Policy refuses javascript: URLs and inline handlers.
document.addEventListener("click", function (ev) {
  var a = ev.target.closest && ev.target.closest("[data-print]");
  if (a) {
    ev.preventDefault();
    window.print();
  }
});
