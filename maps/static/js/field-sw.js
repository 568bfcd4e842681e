/* The field app's service worker (served at /m/sw.js, scope /m/).
 * The app shell (pages and assets) is cached at install; pages are fetched from the
 * network first and from the cache when there is no signal; assets from the cache
 * first. API calls are never cached here: the page's IndexedDB queue keeps what
 * waits to be sent (static/js/field.js). */
"use strict";
const VERSION = "__VERSION__";
const STATIC = "__STATIC__";
const CACHE = "civgrid-field-" + VERSION;
const SHELL = [
  "/m/",
  "/m/report",
  "/m/queue",
  "/m/status",
  "/m/manifest.webmanifest",
  "/m/icon-192.png",
  "/m/icon-512.png",
  STATIC + "/js/field.js",
  STATIC + "/css/field.css",
  STATIC + "/vendor/leaflet/leaflet.js",
  STATIC + "/vendor/leaflet/leaflet.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((k) => k.startsWith("civgrid-field-") && k !== CACHE).map((k) => caches.delete(k))
        )
      )
      .then(() => self.clients.claim())
  );
});

function keep(request, response) {
  if (response.ok && !response.redirected && response.type === "basic") {
    const copy = response.clone();
    caches.open(CACHE).then((c) => c.put(request, copy));
  }
  return response;
}

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  return (
    (await cache.match(request)) ||
    (await cache.match(request, { ignoreSearch: true })) ||
    (request.mode === "navigate" ? await cache.match("/m/") : undefined) ||
    new Response("离线，且本机没有此页面的缓存。", {
      status: 503,
      headers: { "Content-Type": "text/plain; charset=utf-8" },
    })
  );
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/m/") || url.pathname === "/m") {
    // pages: the network first (fresh data), the cache without signal
    event.respondWith(fetch(request).then((r) => keep(request, r)).catch(() => fromCache(request)));
  } else if (url.pathname.startsWith(STATIC + "/") || url.pathname.startsWith("/api/v1/photos/")) {
    // assets and photos do not change: the cache first
    event.respondWith(
      caches.open(CACHE).then((c) =>
        c.match(request).then((hit) => hit || fetch(request).then((r) => keep(request, r)))
      )
    );
  }
});
