// ReDoc of /redoc, from the locally served standalone bundle (no CDN; no inline script
// under the CSP). Search runs without a web worker (the CSP allows no blob: workers).
window.addEventListener("load", function () {
  var root = document.getElementById("redoc");
  window.Redoc.init(
    root.getAttribute("data-openapi-url"),
    { disableSearch: true, hideDownloadButton: false, expandResponses: "200,201" },
    root
  );
});
