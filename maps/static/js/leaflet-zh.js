/* Leaflet's controls in Chinese, metric scale only, a plain-text attribution prefix (no
   flag icon). Loaded right after leaflet.js on every map page, before any map is made. */
(function () {
  "use strict";
  if (!window.L) return;
  L.Control.Zoom.prototype.options.zoomInTitle = "放大";
  L.Control.Zoom.prototype.options.zoomOutTitle = "缩小";
  L.Control.Scale.prototype.options.metric = true;
  L.Control.Scale.prototype.options.imperial = false;
  L.Control.Attribution.prototype.options.prefix = "Leaflet";
  if (L.Control.Layers) L.Control.Layers.prototype.options.collapsed = true;
})();
