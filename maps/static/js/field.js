/* civgrid field app (/m/): the offline queue, the report form, the patrol day,
 * re-inspections and track recording. Vanilla JS, no framework; Leaflet from the
 * npm assets. State for tests and people: window.civgrid.field.
 *
 * The queue (IndexedDB "civgrid-field", store "queue") keeps every action with its
 * Idempotency-Key and its photos (Blobs) until the server has answered it: a 2xx
 * moves it to "sent"; a refusal (4xx) marks it failed with the server's reason; no
 * signal or a server error leaves it pending. Replays are harmless: the server
 * answers the first result for a key it has seen. */
(function () {
  "use strict";
  const cfgEl = document.getElementById("cg-field-config");
  const cfg = cfgEl ? JSON.parse(cfgEl.textContent || "{}") : {};
  const civgrid = (window.civgrid = window.civgrid || {});
  const field = (civgrid.field = { ready: false, error: null, cfg: cfg, sentNow: [] });
  const page = document.body.dataset.page;
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));

  // ------------------------------------------------------------------ IndexedDB
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const req = indexedDB.open("civgrid-field", 1);
        req.onupgradeneeded = () => {
          const d = req.result;
          d.createObjectStore("queue", { keyPath: "id" });
          d.createObjectStore("sent", { keyPath: "id" });
          d.createObjectStore("track", { autoIncrement: true });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
    }
    return dbPromise;
  }
  async function run(store, mode, fn) {
    const d = await db();
    return new Promise((resolve, reject) => {
      const t = d.transaction(store, mode);
      const out = fn(t.objectStore(store));
      t.oncomplete = () => resolve(out && "result" in out ? out.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  }
  const all = (store) => run(store, "readonly", (s) => s.getAll());
  const put = (store, v) => run(store, "readwrite", (s) => s.put(v));
  const del = (store, k) => run(store, "readwrite", (s) => s.delete(k));
  const clear = (store) => run(store, "readwrite", (s) => s.clear());

  function newKey(kind) {
    const r = crypto.getRandomValues(new Uint8Array(12));
    return kind + "-" + Date.now().toString(36) + "-" + Array.from(r, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ------------------------------------------------------------------ the queue
  /** Keep an action on the phone and try to send it.
   * item: {kind, label, url, fields, json?, photos?: [Blob], files?: [{name, blob, filename}]} */
  async function enqueue(item) {
    item.id = item.id || newKey(item.kind);
    item.created = item.created || new Date().toISOString();
    item.status = "pending";
    item.error = null;
    await put("queue", item);
    await showCount();
    flush();
    return item.id;
  }

  function problemText(data, status) {
    if (!data) return "HTTP " + status;
    let t = data.detail || data.title || "HTTP " + status;
    if (Array.isArray(t)) t = t.map((e) => (e.loc || []).join(".") + ": " + e.msg).join("; ");
    return String(t);
  }

  async function sendOne(item) {
    const headers = { "Idempotency-Key": item.id, Accept: "application/json" };
    let body;
    if (item.json) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(item.fields);
    } else {
      body = new FormData();
      for (const [k, v] of Object.entries(item.fields || {})) {
        if (v !== null && v !== undefined && v !== "") body.append(k, String(v));
      }
      (item.photos || []).forEach((b, i) => body.append("photos", b, "photo-" + (i + 1) + ".jpg"));
      (item.files || []).forEach((f) => body.append(f.name, f.blob, f.filename));
    }
    let res;
    try {
      res = await fetch(item.url, { method: "POST", body, headers, credentials: "same-origin" });
    } catch (e) {
      return { sent: false, reason: "无网络" }; // stays pending
    }
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (res.ok) {
      await del("queue", item.id);
      const done = {
        id: item.id,
        kind: item.kind,
        label: item.label,
        at: new Date().toISOString(),
        summary: summarize(item, data),
        receipt: data && data.receipt,
        target: data && data.id,
      };
      await put("sent", done);
      field.sentNow.push({ id: item.id, kind: item.kind, data: data });
      document.dispatchEvent(new CustomEvent("cg:sent", { detail: { item, data, done } }));
      return { sent: true, data };
    }
    const reason = problemText(data, res.status);
    if (res.status >= 500 || res.status === 408 || res.status === 429) {
      item.error = "暂未发送（" + reason + "），稍后重试";
    } else {
      item.status = "failed";
      item.error = reason;
    }
    item.attempts = (item.attempts || 0) + 1;
    await put("queue", item);
    document.dispatchEvent(new CustomEvent("cg:failed", { detail: { item, reason } }));
    return { sent: false, reason };
  }

  let flushing = null;
  let again = false;
  /** Send every pending item once, oldest first (one run at a time; what is queued
   * during a run is sent by another run right after it). */
  function flush() {
    if (flushing) {
      again = true;
      return flushing;
    }
    again = false;
    flushing = (async () => {
      const items = (await all("queue")).filter((i) => i.status === "pending");
      items.sort((a, b) => (a.created < b.created ? -1 : 1));
      let offline = false;
      for (const item of items) {
        const r = await sendOne(item);
        if (!r.sent && r.reason === "无网络") {
          offline = true;
          break;
        }
      }
      await showCount();
      await renderQueue();
      return offline;
    })().finally(() => {
      flushing = null;
    });
    return flushing.then((offline) => (again && !offline ? flush() : offline));
  }

  async function showCount() {
    const n = (await all("queue")).length;
    const el = $("#cg-queue-count");
    if (el) el.textContent = String(n);
    field.queueCount = n;
    return n;
  }

  function fmtDate(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit" });
  }

  /** One sentence on where a report went (the API's routing answer). */
  function routedSentence(d) {
    if (!d) return "已发送。";
    const place = [d.township, d.community, d.unit_grid].filter(Boolean).map((a) => a.name).join("");
    const parts = ["已上报（编号 " + d.id + (d.receipt ? "，回执号 " + d.receipt : "") + "）"];
    if (d.state === "merged") return parts[0] + "：与已有问题 " + d.duplicate_of + " 重复，已合并。";
    if (d.state === "triage") {
      return (
        parts[0] + "：" + (place ? "位于" + place + "，" : "") + "已受理，等待指挥中心分拣交办" +
        (d.owner_unit ? "（拟交" + d.owner_unit.name + "）" : "") + "。"
      );
    }
    if (d.owner_unit) {
      let s = "：位于" + (place || "辖区内") + "，由" + d.owner_unit.name + "负责";
      if (d.deadline) s += "，限" + fmtDate(d.deadline) + "前整改";
      return parts[0] + s + "。";
    }
    return parts[0] + "：" + (place ? "位于" + place + "，" : "") + "已受理，等待指挥中心分拣交办。";
  }
  field.routedSentence = routedSentence;

  function summarize(item, d) {
    if (!d) return "已发送";
    if (item.kind === "report") return routedSentence(d);
    if (item.kind === "reinspect") return "复查已提交：#" + d.id + " " + (d.state_label || d.state);
    if (item.kind === "action") return item.label + "：已完成，现为" + (d.state_label || d.state);
    if (item.kind === "visit") return "走访已标记：" + (d.status === "done" ? "已完成" : d.status);
    if (item.kind === "visit_photo") return "走访照片已上传：共 " + (d.photos || []).length + " 张";
    if (item.kind === "track") return trackSentence(d);
    if (item.kind === "point_inspection")
      return (
        item.label + "：" + (d.compliance_label || "") +
        "，新开问题 " + (d.opened || []).length + " 个"
      );
    return "已发送";
  }

  // the labels among the kinds (上报, 复查) come from the page config (labels.py)
  const KIND = Object.assign(
    { action: "办理", visit: "走访", visit_photo: "走访照片", track: "轨迹" },
    cfg.queue_kinds || {}
  );
  async function renderQueue() {
    const list = $("#cg-queue");
    if (!list) return;
    const items = await all("queue");
    list.textContent = "";
    for (const it of items) {
      const li = document.createElement("li");
      li.className = it.status === "failed" ? "cg-m-failed" : "cg-m-pending";
      li.dataset.id = it.id;
      li.dataset.status = it.status;
      const photos = (it.photos || []).length;
      li.innerHTML = "<b></b><div class='cg-m-hint'></div><div class='cg-m-error'></div>";
      li.children[0].textContent = (KIND[it.kind] || it.kind) + "：" + (it.label || "");
      li.children[1].textContent =
        (it.status === "failed" ? "发送失败" : "待发送") + " · " + fmtDate(it.created) + (photos ? " · " + photos + " 张照片" : "");
      li.children[2].textContent = it.error || "";
      if (it.status === "failed") {
        const b = document.createElement("button");
        b.className = "cg-m-btn cg-m-btn-2";
        b.dataset.perm = "public";
        b.textContent = "删除";
        b.addEventListener("click", async () => {
          await del("queue", it.id);
          renderQueue();
          showCount();
        });
        li.appendChild(b);
      }
      list.appendChild(li);
    }
    const sent = $("#cg-sent");
    if (sent) {
      const done = (await all("sent")).sort((a, b) => (a.at < b.at ? 1 : -1)).slice(0, 30);
      sent.textContent = "";
      for (const s of done) {
        const li = document.createElement("li");
        li.dataset.id = s.id;
        li.textContent = (KIND[s.kind] || s.kind) + " · " + fmtDate(s.at) + "：" + (s.summary || "");
        sent.appendChild(li);
      }
    }
  }

  field.queue = { enqueue, flush, all: () => all("queue"), sent: () => all("sent"), put: (v) => put("queue", v), clearSent: () => clear("sent") };

  // ------------------------------------------------------------------ photos: EXIF and resizing
  /** Location (WGS84) and time of a JPEG's EXIF block, when present. */
  function readExif(buf) {
    const v = new DataView(buf);
    if (v.byteLength < 4 || v.getUint16(0) !== 0xffd8) return null;
    let p = 2;
    while (p + 4 < v.byteLength) {
      const marker = v.getUint16(p);
      const len = v.getUint16(p + 2);
      if (marker === 0xffe1 && v.getUint32(p + 4) === 0x45786966) return tiff(v, p + 10);
      if ((marker & 0xff00) !== 0xff00) break;
      p += 2 + len;
    }
    return null;
  }
  function tiff(v, start) {
    const little = v.getUint16(start) === 0x4949;
    const u16 = (o) => v.getUint16(start + o, little);
    const u32 = (o) => v.getUint32(start + o, little);
    const ifd = (off) => {
      const out = {};
      const n = u16(off);
      for (let i = 0; i < n; i++) {
        const e = off + 2 + i * 12;
        out[u16(e)] = { type: u16(e + 2), count: u32(e + 4), at: e + 8 };
      }
      return out;
    };
    const ascii = (t) => {
      const o = t.count > 4 ? u32(t.at) : t.at;
      let s = "";
      for (let i = 0; i < t.count - 1; i++) s += String.fromCharCode(v.getUint8(start + o + i));
      return s;
    };
    const rationals = (t) => {
      const o = u32(t.at);
      const out = [];
      for (let i = 0; i < t.count; i++) out.push(u32(o + i * 8) / (u32(o + i * 8 + 4) || 1));
      return out;
    };
    const res = {};
    const root = ifd(u32(4));
    if (root[0x8769]) {
      const ex = ifd(u32(root[0x8769].at));
      if (ex[0x9003]) res.time = ascii(ex[0x9003]);
      if (ex[0x9011]) res.offset = ascii(ex[0x9011]);
    }
    if (!res.time && root[0x0132]) res.time = ascii(root[0x0132]);
    if (root[0x8825]) {
      const g = ifd(u32(root[0x8825].at));
      if (g[2] && g[4]) {
        const dms = (a) => a[0] + a[1] / 60 + a[2] / 3600;
        let lat = dms(rationals(g[2]));
        let lon = dms(rationals(g[4]));
        if (g[1] && ascii(g[1]) === "S") lat = -lat;
        if (g[3] && ascii(g[3]) === "W") lon = -lon;
        if (isFinite(lat) && isFinite(lon) && (lat || lon)) {
          res.lat = lat;
          res.lon = lon;
        }
      }
    }
    return res;
  }
  /** EXIF "YYYY:MM:DD HH:MM:SS" (+ offset, else the phone's zone) → ISO 8601 with offset. */
  function exifTime(s, offset) {
    const m = /^(\d{4}):(\d\d):(\d\d) (\d\d):(\d\d):(\d\d)/.exec(s || "");
    if (!m) return null;
    if (offset && /^[+-]\d\d:\d\d$/.test(offset)) return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${offset}`;
    return new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]).toISOString();
  }
  field.readExif = readExif;

  /** Resize a photo on the phone (longest side 1600 px, JPEG 0.82) before it is kept. */
  async function resize(file, max) {
    max = max || 1600;
    let bmp;
    try {
      bmp = await createImageBitmap(file);
    } catch (e) {
      return file; // not decodable here: sent as it is (the server checks it)
    }
    const k = Math.min(1, max / Math.max(bmp.width, bmp.height));
    const w = Math.round(bmp.width * k);
    const h = Math.round(bmp.height * k);
    const c = document.createElement("canvas");
    c.width = w;
    c.height = h;
    c.getContext("2d").drawImage(bmp, 0, 0, w, h);
    return new Promise((resolve) => c.toBlob((b) => resolve(b || file), "image/jpeg", 0.82));
  }
  async function takePhotos(files) {
    const out = [];
    for (const f of files) {
      let exif = null;
      try {
        exif = readExif(await f.slice(0, 256 * 1024).arrayBuffer());
      } catch (e) {
        exif = null;
      }
      out.push({ blob: await resize(f), exif: exif || {}, size: f.size });
    }
    return out;
  }
  field.resize = resize;

  // ------------------------------------------------------------------ GCJ-02 for drawing only
  // (the server converts what is sent; these only put a pin where the tiles show it)
  const A = 6378245.0, EE = 0.00669342162296594323;
  function outOfChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }
  function gcjDelta(lon, lat) {
    const x = lon - 105, y = lat - 35;
    let dLat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    dLat += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
    dLat += ((20 * Math.sin(y * Math.PI) + 40 * Math.sin((y / 3) * Math.PI)) * 2) / 3;
    dLat += ((160 * Math.sin((y / 12) * Math.PI) + 320 * Math.sin((y * Math.PI) / 30)) * 2) / 3;
    let dLon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    dLon += ((20 * Math.sin(6 * x * Math.PI) + 20 * Math.sin(2 * x * Math.PI)) * 2) / 3;
    dLon += ((20 * Math.sin(x * Math.PI) + 40 * Math.sin((x / 3) * Math.PI)) * 2) / 3;
    dLon += ((150 * Math.sin((x / 12) * Math.PI) + 300 * Math.sin((x / 30) * Math.PI)) * 2) / 3;
    const rad = (lat / 180) * Math.PI;
    let magic = Math.sin(rad);
    magic = 1 - EE * magic * magic;
    const sq = Math.sqrt(magic);
    dLat = (dLat * 180) / (((A * (1 - EE)) / (magic * sq)) * Math.PI);
    dLon = (dLon * 180) / ((A / sq) * Math.cos(rad) * Math.PI);
    return [dLon, dLat];
  }
  function toGcj(lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    const d = gcjDelta(lon, lat);
    return [lon + d[0], lat + d[1]];
  }
  function fromGcj(lon, lat) {
    let w = [lon, lat];
    for (let i = 0; i < 3; i++) {
      const g = toGcj(w[0], w[1]);
      w = [w[0] - (g[0] - lon), w[1] - (g[1] - lat)];
    }
    return w;
  }

  // ------------------------------------------------------------------ the report page
  function initReport() {
    const form = $("#cg-report");
    const displayCrs = (cfg.basemap && cfg.basemap.display_crs) || "wgs84";
    const state = { photos: [], pin: null, category: null, reportedAt: null };
    field.report = state;

    // categories: the most reported first, filtered by the search box
    const cats = cfg.categories || [];
    const box = $("#cg-cats");
    function drawCats() {
      const q = ($("#cg-cat-search").value || "").trim().toLowerCase();
      box.textContent = "";
      const shown = cats.filter((c) => !q || c.name.toLowerCase().includes(q) || c.code.includes(q));
      for (const c of shown.slice(0, q ? 60 : 12)) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "cg-m-cat";
        b.dataset.perm = "issue.report";
        b.dataset.code = c.code;
        b.setAttribute("role", "option");
        b.setAttribute("aria-selected", String(state.category === c.code));
        b.textContent = c.name;
        b.addEventListener("click", () => {
          state.category = c.code;
          $("#cg-category").value = c.code;
          drawCats();
        });
        box.appendChild(b);
      }
    }
    $("#cg-cat-search").addEventListener("input", drawCats);
    drawCats();

    // the map and the pin: {lon, lat, crs}; drawn in the basemap's CRS
    const map = L.map("cg-map", { zoomControl: true, attributionControl: false });
    for (const t of (cfg.basemap && cfg.basemap.tiles) || []) L.tileLayer(t.url, t).addTo(map);
    if (cfg.outlines) {
      // no tiles (offline basemap): the communities' outlines and names to find the place
      L.geoJSON(cfg.outlines, {
        style: { color: "#8d6e63", weight: 1.5, opacity: 0.9 },
        interactive: false,
        onEachFeature: (f, layer) =>
          layer.bindTooltip(f.properties.name, { permanent: true, direction: "center", className: "cg-m-area" }),
      }).addTo(map);
    }
    const c = cfg.center || [33.06, 112.95];
    map.setView(c, 14);
    const icon = L.divIcon({ className: "cg-pin", iconSize: [28, 28], iconAnchor: [14, 28] });
    let marker = null;
    function shown(pin) {
      if (pin.crs === displayCrs) return [pin.lat, pin.lon];
      if (displayCrs === "gcj02" && pin.crs === "wgs84") {
        const g = toGcj(pin.lon, pin.lat);
        return [g[1], g[0]];
      }
      if (displayCrs === "wgs84" && pin.crs === "gcj02") {
        const w = fromGcj(pin.lon, pin.lat);
        return [w[1], w[0]];
      }
      return [pin.lat, pin.lon];
    }
    function setPin(pin, how) {
      state.pin = pin;
      const ll = shown(pin);
      if (!marker) {
        marker = L.marker(ll, { icon, draggable: true, autoPan: true }).addTo(map);
        marker.on("dragend", () => {
          const p = marker.getLatLng();
          setPin({ lon: p.lng, lat: p.lat, crs: displayCrs, source: "map" }, "已移动图钉");
        });
      } else marker.setLatLng(ll);
      map.setView(ll, Math.max(map.getZoom(), 16));
      $("#cg-where").textContent =
        how + "：" + pin.lon.toFixed(6) + ", " + pin.lat.toFixed(6) + "（" + (pin.crs === "gcj02" ? "GCJ-02" : "WGS84") + "）";
    }
    map.on("click", (e) => setPin({ lon: e.latlng.lng, lat: e.latlng.lat, crs: displayCrs, source: "map" }, "已放置图钉"));
    field.setPin = setPin;
    if (cfg.point) {
      setPin(
        { lon: cfg.point.lon, lat: cfg.point.lat, crs: "wgs84", source: "link" },
        cfg.point.from === "gcj02" ? "链接坐标（GCJ-02 已换算为 WGS84）" : "链接坐标"
      );
    }

    $("#cg-locate").addEventListener("click", () => {
      if (!navigator.geolocation) {
        $("#cg-where").textContent = "此浏览器不支持定位";
        return;
      }
      $("#cg-where").textContent = "正在定位…";
      navigator.geolocation.getCurrentPosition(
        (pos) => {
          const p = pos.coords;
          setPin({ lon: p.longitude, lat: p.latitude, crs: "wgs84", source: "gps", accuracy: p.accuracy }, "已定位（精度约 " + Math.round(p.accuracy) + " 米）");
        },
        (err) => {
          $("#cg-where").textContent = "定位失败：" + err.message + "（可在地图上点选位置）";
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 10000 }
      );
    });
    $("#cg-paste-go").addEventListener("click", () => {
      const m = /(-?\d+(?:\.\d+)?)\s*[,，\s]\s*(-?\d+(?:\.\d+)?)/.exec($("#cg-paste").value || "");
      if (!m) {
        $("#cg-where").textContent = "请输入“经度,纬度”";
        return;
      }
      setPin({ lon: +m[1], lat: +m[2], crs: "gcj02", source: "paste" }, "粘贴坐标（GCJ-02）");
    });

    $("#cg-photo-input").addEventListener("change", async (e) => {
      const taken = await takePhotos(Array.from(e.target.files || []));
      e.target.value = "";
      for (const t of taken) {
        state.photos.push(t.blob);
        const img = document.createElement("img");
        img.src = URL.createObjectURL(t.blob);
        img.alt = "照片";
        $("#cg-photos").appendChild(img);
        const x = t.exif;
        const notes = [];
        if (x.time) {
          state.reportedAt = state.reportedAt || exifTime(x.time, x.offset);
          notes.push("拍摄时间 " + x.time);
        }
        if (x.lon !== undefined && !state.pin) {
          setPin({ lon: x.lon, lat: x.lat, crs: "wgs84", source: "exif" }, "照片位置");
          notes.push("已用照片中的位置");
        }
        if (notes.length) $("#cg-exif").textContent = notes.join("；");
      }
      field.photoCount = state.photos.length;
    });

    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const out = $("#cg-result");
      out.className = "cg-m-result";
      if (!state.category) {
        out.className = "cg-m-result cg-bad";
        out.textContent = "请选择问题类别";
        return;
      }
      const address = $("#cg-address").value.trim();
      if (!state.pin && !address) {
        out.className = "cg-m-result cg-bad";
        out.textContent = "请定位、在地图上放置图钉，或填写地址";
        return;
      }
      const role = cfg.public ? null : document.body.dataset.role;
      const fields = {
        category: state.category,
        source: cfg.public ? "citizen_complaint" : role === "grid_worker" ? "grid_worker" : "field_supervision",
        address: address,
        description: $("#cg-description").value.trim(),
        reported_at: state.reportedAt || "",
        visit_id: cfg.visit || "",
      };
      if (state.pin) {
        // the CRS is said with the point: a browser fix is WGS84, a map app's GCJ-02
        fields.lon = state.pin.lon;
        fields.lat = state.pin.lat;
        fields.crs = state.pin.crs;
      }
      const name = (cats.find((c) => c.code === state.category) || {}).name || state.category;
      const id = newKey("report");
      const wait = new Promise((resolve) => {
        const on = (ev) => {
          if (ev.detail.item.id !== id) return;
          document.removeEventListener("cg:sent", on);
          document.removeEventListener("cg:failed", on);
          resolve(ev);
        };
        document.addEventListener("cg:sent", on);
        document.addEventListener("cg:failed", on);
      });
      $("#cg-send").disabled = true;
      await enqueue({ id, kind: "report", label: name, url: "/api/v1/issues", fields, photos: state.photos.slice() });
      out.textContent = navigator.onLine ? "正在发送…" : "已保存在手机上（离线），联网后自动发送。";
      const ev = await Promise.race([wait, new Promise((r) => setTimeout(() => r(null), 20000))]);
      $("#cg-send").disabled = false;
      if (!ev) {
        out.textContent = "已保存在手机上，联网后自动发送（见“待发送”）。";
      } else if (ev.type === "cg:sent") {
        out.textContent = ev.detail.done.summary;
        field.lastReport = ev.detail.data;
        if (ev.detail.data && ev.detail.data.receipt) rememberReceipt(ev.detail.data.receipt);
      } else if (ev.detail.item.status === "failed") {
        out.className = "cg-m-result cg-bad";
        out.textContent = "提交失败：" + ev.detail.reason;
      } else {
        out.textContent = "已保存在手机上，稍后自动重试（" + ev.detail.reason + "）。";
      }
    });
  }

  function rememberReceipt(no) {
    try {
      const mine = JSON.parse(localStorage.getItem("civgrid.receipts") || "[]");
      if (!mine.includes(no)) mine.unshift(no);
      localStorage.setItem("civgrid.receipts", JSON.stringify(mine.slice(0, 20)));
    } catch (e) {
      /* private mode: nothing kept */
    }
  }
  function initStatus() {
    const ul = $("#cg-my-receipts");
    let mine = [];
    try {
      mine = JSON.parse(localStorage.getItem("civgrid.receipts") || "[]");
    } catch (e) {
      mine = [];
    }
    for (const no of mine) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/m/status?no=" + encodeURIComponent(no);
      a.textContent = "我的回执 " + no;
      li.appendChild(a);
      ul.appendChild(li);
    }
  }

  // ------------------------------------------------------------------ the patrol day
  function initDay() {
    for (const li of $$(".cg-m-stop")) {
      const visit = li.dataset.visit;
      const badge = $(".cg-m-badge", li);
      const photos = [];
      $(".cg-visit-photo", li).addEventListener("change", async (e) => {
        for (const t of await takePhotos(Array.from(e.target.files || []))) photos.push(t.blob);
        e.target.value = "";
        $(".cg-visit-photos", li).textContent = "已拍 " + photos.length + " 张";
      });
      $(".cg-visit-done", li)?.addEventListener("click", async () => {
        badge.textContent = "待发送";
        if (photos.length) {
          // the photos first: the visit is done with its photos (each with its own key)
          await enqueue({
            kind: "visit_photo",
            label: $("b", li).textContent + " 照片",
            url: "/api/v1/patrol/visits/" + visit + "/photos",
            fields: {},
            photos: photos.splice(0),
          });
        }
        await enqueue({
          kind: "visit",
          label: $("b", li).textContent,
          url: "/api/v1/patrol/visits/" + visit + "/outcome",
          fields: { status: "done" },
          json: true,
        });
      });
    }
    document.addEventListener("cg:sent", (ev) => {
      const d = ev.detail.data;
      if (ev.detail.item.kind !== "visit" || !d) return;
      const li = $('.cg-m-stop[data-visit="' + d.id + '"]');
      if (!li) return;
      li.dataset.status = d.status;
      const badge = $(".cg-m-badge", li);
      badge.textContent = d.status === "done" ? "已完成" : d.status;
      badge.className = "cg-m-badge cg-m-" + d.status;
    });
  }

  // ------------------------------------------------------------------ re-inspections
  function initReinspect() {
    for (const li of $$(".cg-m-re")) {
      const photos = [];
      const out = $(".cg-m-result", li);
      $(".cg-re-photo", li).addEventListener("change", async (e) => {
        for (const t of await takePhotos(Array.from(e.target.files || []))) photos.push(t.blob);
        e.target.value = "";
        out.textContent = "已拍 " + photos.length + " 张";
      });
      const decide = async (passed) => {
        const note = $(".cg-re-note", li).value.trim();
        if (!passed && !note) {
          out.className = "cg-m-result cg-bad";
          out.textContent = "不通过时请填写复查意见";
          return;
        }
        out.className = "cg-m-result";
        out.textContent = navigator.onLine ? "正在发送…" : "已保存在手机上（离线），联网后自动发送。";
        await enqueue({
          kind: "reinspect",
          label: "#" + li.dataset.issue + (passed ? " 通过" : " 不通过"),
          url: "/api/v1/issues/" + li.dataset.issue + "/transitions",
          fields: { action: "reinspect", passed: passed ? "true" : "false", note: note || (passed ? "复查通过" : "") },
          photos: photos.slice(),
        });
      };
      $(".cg-re-pass", li).addEventListener("click", () => decide(true));
      $(".cg-re-fail", li).addEventListener("click", () => decide(false));
    }
    document.addEventListener("cg:sent", (ev) => {
      if (ev.detail.item.kind !== "reinspect") return;
      const li = $('.cg-m-re[data-issue="' + (ev.detail.data || {}).id + '"]');
      if (li) $(".cg-m-result", li).textContent = ev.detail.done.summary;
    });
    document.addEventListener("cg:failed", (ev) => {
      if (ev.detail.item.kind !== "reinspect") return;
      const li = $('.cg-m-re[data-issue="' + ev.detail.item.url.split("/")[4] + '"]');
      if (li) {
        $(".cg-m-result", li).className = "cg-m-result cg-bad";
        $(".cg-m-result", li).textContent = ev.detail.reason;
      }
    });
  }

  // ------------------------------------------------------------------ point inspections
  /** One GPS fix, or nothing within 4 s (the inspection is sent without it). */
  function oneFix() {
    return new Promise((resolve) => {
      if (!navigator.geolocation) return resolve(null);
      const done = setTimeout(() => resolve(null), 4000);
      navigator.geolocation.getCurrentPosition(
        (p) => {
          clearTimeout(done);
          resolve(p.coords);
        },
        () => {
          clearTimeout(done);
          resolve(null);
        },
        { enableHighAccuracy: true, timeout: 4000, maximumAge: 60000 }
      );
    });
  }

  function initPoints() {
    const form = $("#cg-checklist");
    if (!form) return;
    const out = $("#cg-ck-result");
    const photos = {}; // item code → [Blob]
    for (const li of $$(".cg-ck-item", form)) {
      const code = li.dataset.item;
      photos[code] = [];
      $(".cg-ck-photo", li).addEventListener("change", async (e) => {
        for (const t of await takePhotos(Array.from(e.target.files || []))) photos[code].push(t.blob);
        e.target.value = "";
        $(".cg-ck-count", li).textContent = "已拍 " + photos[code].length + " 张";
      });
    }
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const items = [];
      const blobs = [];
      for (const li of $$(".cg-ck-item", form)) {
        const code = li.dataset.item;
        const passed = $('input[value="pass"]', li).checked;
        if (!passed && li.dataset.photo === "true" && !photos[code].length) {
          out.className = "cg-m-result cg-bad";
          out.textContent = code + " 不合格：请先拍照";
          return;
        }
        const idx = [];
        if (!passed) for (const b of photos[code]) idx.push(blobs.push(b) - 1);
        const note = $(".cg-ck-note", li).value.trim();
        items.push({ code, passed, note: note || null, photos: idx });
      }
      $("#cg-ck-send").disabled = true;
      out.className = "cg-m-result";
      out.textContent = "正在定位并发送…";
      const fix = await oneFix();
      // offline, the phone's time of the inspection goes with it (sent later); online the
      // server's clock stamps it (a phone a few seconds fast would be "in the future")
      const body = navigator.onLine ? { items } : { items, inspected_at: new Date().toISOString() };
      if (fix) Object.assign(body, { lon: fix.longitude, lat: fix.latitude, accuracy_m: fix.accuracy });
      const failed = items.filter((i) => !i.passed).length;
      await enqueue({
        kind: "point_inspection",
        label: "点位" + form.dataset.point + (failed ? " 不合格" + failed + "项" : " 全部合格"),
        url: "/api/v1/points/" + encodeURIComponent(form.dataset.point) + "/inspections",
        fields: { inspection: JSON.stringify(body) },
        photos: blobs,
      });
      if (!navigator.onLine) out.textContent = "已保存在手机上（离线），联网后自动发送。";
    });
    document.addEventListener("cg:sent", (ev) => {
      if (ev.detail.item.kind !== "point_inspection") return;
      out.className = "cg-m-result";
      out.textContent = ev.detail.done.summary;
    });
    document.addEventListener("cg:failed", (ev) => {
      if (ev.detail.item.kind !== "point_inspection") return;
      $("#cg-ck-send").disabled = false;
      out.className = "cg-m-result cg-bad";
      out.textContent = ev.detail.reason;
    });
  }

  // ------------------------------------------------------------------ my issues
  function initMine() {
    for (const li of $$(".cg-m-issue")) {
      const id = li.dataset.issue;
      const out = $(".cg-m-result", li);
      const photos = [];
      const url = "/api/v1/issues/" + id + "/transitions";
      const say = (text, bad) => {
        out.className = "cg-m-result" + (bad ? " cg-bad" : "");
        out.textContent = text;
      };
      const accept = $(".cg-is-accept", li);
      if (accept) {
        accept.addEventListener("click", async () => {
          say(navigator.onLine ? "正在发送…" : "已保存在手机上（离线），联网后自动发送。");
          await enqueue({ kind: "action", label: "#" + id + " 接收", url, fields: { action: "accept" }, json: true });
        });
      }
      $(".cg-is-photo", li).addEventListener("change", async (e) => {
        for (const t of await takePhotos(Array.from(e.target.files || []))) photos.push(t.blob);
        e.target.value = "";
        say("已拍 " + photos.length + " 张");
      });
      $(".cg-is-submit", li).addEventListener("click", async () => {
        if (!photos.length) {
          say("提交整改需要照片", true);
          return;
        }
        say(navigator.onLine ? "正在发送…" : "已保存在手机上（离线），联网后自动发送。");
        await enqueue({
          kind: "action",
          label: "#" + id + " 提交整改",
          url,
          fields: { action: "submit", measures: $(".cg-is-measures", li).value.trim() },
          photos: photos.splice(0),
        });
      });
    }
    const show = (ev, text, bad) => {
      const m = /\/issues\/(\d+)\//.exec(ev.detail.item.url);
      const li = m && $('.cg-m-issue[data-issue="' + m[1] + '"]');
      if (!li) return;
      const out = $(".cg-m-result", li);
      out.className = "cg-m-result" + (bad ? " cg-bad" : "");
      out.textContent = text;
      if (!bad && ev.detail.data) {
        li.dataset.state = ev.detail.data.state;
        $(".cg-m-badge", li).textContent = ev.detail.data.state_label;
      }
    };
    document.addEventListener("cg:sent", (ev) => ev.detail.item.kind === "action" && show(ev, ev.detail.done.summary));
    document.addEventListener("cg:failed", (ev) => ev.detail.item.kind === "action" && show(ev, ev.detail.reason, true));
  }

  // ------------------------------------------------------------------ track recording
  function trackSentence(d) {
    const cov = d.coverage || {};
    const roads = Object.values(cov.road_sections || {}); // code → covered share
    const grids = Object.keys(cov.unit_grids || {});
    const bits = ["轨迹已上传：" + (d.length_m ? (d.length_m / 1000).toFixed(2) + " 公里" : "")];
    bits.push("覆盖路段 " + roads.filter((s) => s >= 0.8).length + " 条（经过 " + roads.length + " 条）");
    bits.push("进入网格 " + grids.length + " 个");
    if (d.duplicate) bits.push("（此前已上传）");
    return bits.join("，");
  }
  function gpxOf(fixes) {
    const pts = fixes
      .map((f) => `<trkpt lat="${f.lat.toFixed(7)}" lon="${f.lon.toFixed(7)}"><time>${f.t}</time></trkpt>`)
      .join("");
    return (
      '<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="civgrid-field" xmlns="http://www.topografix.com/GPX/1/1">' +
      "<trk><name>patrol</name><trkseg>" + pts + "</trkseg></trk></gpx>"
    );
  }
  function initTrack() {
    let watch = null;
    field.track = { fixes: 0, recording: false, result: null };
    const count = async () => {
      const n = (await all("track")).length;
      field.track.fixes = n;
      $("#cg-track-count").textContent = String(n);
    };
    count();
    $("#cg-track-start").addEventListener("click", () => {
      if (watch !== null) return;
      field.track.recording = true;
      watch = navigator.geolocation.watchPosition(
        async (pos) => {
          const c = pos.coords;
          // the time the page received the fix (the phone clock)
          await put("track", { lon: c.longitude, lat: c.latitude, acc: c.accuracy, t: new Date().toISOString() });
          count();
        },
        (err) => {
          $("#cg-track-result").textContent = "定位失败：" + err.message;
        },
        { enableHighAccuracy: true, maximumAge: 0 }
      );
    });
    $("#cg-track-stop").addEventListener("click", async () => {
      if (watch !== null) navigator.geolocation.clearWatch(watch);
      watch = null;
      field.track.recording = false;
      const fixes = await all("track");
      const team = $("#cg-team").value.trim();
      if (!fixes.length || !team) {
        $("#cg-track-result").textContent = !team ? "请填写督查组" : "还没有记录到位置";
        return;
      }
      const blob = new Blob([gpxOf(fixes)], { type: "application/gpx+xml" });
      await clear("track");
      count();
      $("#cg-track-result").textContent = "正在上传…";
      await enqueue({
        kind: "track",
        label: team + " 轨迹 " + fixes.length + " 点",
        url: "/api/v1/patrol/tracks",
        fields: { team, crs: "wgs84" },
        files: [{ name: "file", blob, filename: "track-" + fixes[0].t.slice(0, 10) + ".gpx" }],
      });
    });
    document.addEventListener("cg:sent", (ev) => {
      if (ev.detail.item.kind !== "track") return;
      field.track.result = ev.detail.data;
      $("#cg-track-result").textContent = ev.detail.done.summary;
    });
    document.addEventListener("cg:failed", (ev) => {
      if (ev.detail.item.kind === "track") $("#cg-track-result").textContent = "上传失败：" + ev.detail.reason;
    });
  }

  // ------------------------------------------------------------------ start
  function net() {
    const el = $("#cg-net");
    if (el) el.hidden = navigator.onLine;
  }
  window.addEventListener("online", () => {
    net();
    flush();
  });
  window.addEventListener("offline", net);

  async function start() {
    net();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/m/sw.js", { scope: "/m/" }).then(
        (r) => (field.sw = r.scope),
        (e) => (field.swError = String(e))
      );
    }
    if (page === "report") initReport();
    if (page === "status") initStatus();
    if (page === "day") initDay();
    if (page === "reinspect") initReinspect();
    if (page === "points") initPoints();
    if (page === "mine") initMine();
    if (page === "track") initTrack();
    await showCount();
    await renderQueue();
    if (page === "queue") $("#cg-flush").addEventListener("click", () => flush());
    if (navigator.onLine) await flush();
  }
  start().then(
    () => (field.ready = true),
    (e) => {
      field.error = String(e);
      field.ready = true;
    }
  );
})();
