/*
 * civgrid map pages: command center (指挥中心地图), heat map (问题热力图), leader view (领导视图).
 *
 * The Python builders (civgrid.maps.pages) create a Leaflet map with folium and
 * call one of civgrid.initCommandMap / initHeatMap / initLeaderMap with a JSON
 * config. Every data source is either a URL (loaded live from the API, again
 * when the zoom or the filters change) or GeoJSON embedded in the page (the
 * offline file); the script works the same on both.
 *
 * Coordinates arrive in the display CRS already (GCJ-02 on Amap/Tencent tiles):
 * the script never converts, so a polygon drawn on the map selects exactly the
 * markers shown inside it.
 *
 * Test hooks: window.civgrid.state (ready, loading, layerCounts, issueCount,
 * issueMarkers, hexCount, hotspots, selection, lastReassign, lastUndo, lastDispatch,
 * dispatchOptions).
 */
(function () {
  "use strict";

  var cg = (window.civgrid = window.civgrid || {});
  var state = (cg.state = {
    ready: false,
    loading: 0,
    errors: [],
    layerCounts: {},
    issueCount: 0,
    issueTotal: 0,
    issueMarkers: [],
    hexCount: 0,
    hotspots: [],
    selection: [],
    lastReassign: null,
    lastUndo: null,
    lastDispatch: null,
    dispatchOptions: null,
  });

  // ------------------------------------------------------------------ utilities

  function esc(value) {
    if (value === null || value === undefined) return "";
    return String(value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  function el(tag, attrs, html) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "class") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function withParams(url, params) {
    var parts = url.split("?");
    var search = new URLSearchParams(parts[1] || "");
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v === null || v === undefined || v === "" || v === false) search.delete(k);
      else search.set(k, String(v));
    });
    var q = search.toString();
    return parts[0] + (q ? "?" + q : "");
  }

  function busy(delta) {
    state.loading += delta;
    document.body.setAttribute("data-cg-loading", String(state.loading));
  }

  function getJSON(url) {
    busy(1);
    return fetch(url, { headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          return r.text().then(function (t) {
            throw new Error(r.status + " " + url + " " + t.slice(0, 300));
          });
        }
        return r.json();
      })
      .catch(function (err) {
        state.errors.push(String(err));
        toast("数据加载失败：" + err.message, true);
        throw err;
      })
      .finally(function () {
        busy(-1);
      });
  }

  function sendJSON(url, body) {
    busy(1);
    return fetch(url, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
      },
      credentials: "same-origin", // the login cookie: the server knows who acts
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            return { ok: r.ok, status: r.status, data: data };
          });
      })
      .finally(function () {
        busy(-1);
      });
  }

  // the city's time zone arrives in the page config (cfg.timeZone, see basePage)
  function makeDateFmt(timeZone) {
    return new Intl.DateTimeFormat("zh-CN", {
      timeZone: timeZone || undefined,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hour12: false,
    });
  }
  var dateFmt = makeDateFmt(null);

  function fmtTime(iso) {
    if (!iso) return "—";
    var d = new Date(iso);
    if (isNaN(d.getTime())) return esc(iso);
    return dateFmt.format(d).replace(/\//g, "-");
  }

  function fmtAge(days) {
    if (days === null || days === undefined) return "";
    if (days < 1) return Math.max(1, Math.round(days * 24)) + " 小时前";
    return Math.round(days) + " 天前";
  }

  var toastTimer = null;
  function toast(message, isError) {
    var box = document.getElementById("cg-toast");
    if (!box) {
      box = el("div", { id: "cg-toast", class: "cg-toast", role: "status" });
      document.body.appendChild(box);
    }
    box.textContent = message;
    box.className = "cg-toast cg-show" + (isError ? " cg-error" : "");
    if (toastTimer) clearTimeout(toastTimer);
    toastTimer = setTimeout(function () {
      box.className = "cg-toast";
    }, isError ? 8000 : 4000);
  }

  function row(label, value) {
    if (value === null || value === undefined || value === "") return "";
    return "<tr><th>" + esc(label) + "</th><td>" + value + "</td></tr>";
  }

  function countsRows(p) {
    if (p.open === undefined) return "";
    return (
      row("未结问题", '<b class="cg-num">' + esc(p.open) + "</b>") +
      row(lab("actions", "overdue"), '<b class="cg-num cg-overdue">' + esc(p.overdue) + "</b>") +
      row(lab("actions", "recurrence"), esc(p.recurring)) +
      row("累计问题", esc(p.total))
    );
  }

  // ------------------------------------------------------------------ styles

  var RAMP = ["#fff5eb", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603"];

  function ramp(value, max) {
    if (!value) return "#f1f8e9";
    var top = Math.max(max || 1, 1);
    var i = Math.min(RAMP.length - 1, Math.floor(((value - 0.0001) / top) * RAMP.length));
    return RAMP[Math.max(0, i)];
  }

  function roadColor(open) {
    if (!open) return "#43a047";
    if (open <= 2) return "#fb8c00";
    return "#d32f2f";
  }

  var HEAT_RAMP = ["#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"];

  function heatColor(score, max) {
    if (!max) return HEAT_RAMP[0];
    var i = Math.floor((score / max) * (HEAT_RAMP.length - 1) + 0.0001);
    return HEAT_RAMP[Math.max(0, Math.min(HEAT_RAMP.length - 1, i))];
  }

  // ------------------------------------------------------------------ boundary layers

  // Labels come from the page config (civgrid.grids.core.labels via maps/pages.py); no tables here.
  // not "L": that is Leaflet
  var LABELS = { roles: {}, layers: {}, sources: {}, actions: {}, points: {}, compliance: {} };
  function useLabels(cfg) {
    var l = (cfg && cfg.labels) || {};
    ["roles", "layers", "sources", "actions", "points", "compliance"].forEach(function (k) {
      LABELS[k] = l[k] || {};
    });
  }
  function lab(table, key) {
    return LABELS[table][key] || key;
  }

  function popupFor(key, p) {
    var title = "<h4>" + esc(p.name) + "</h4>";
    var rows = "";
    if (key === "township") {
      rows = row("类型", esc(p.type_label)) + row(lab("roles", "contact"), esc(p.contact)) + row(lab("roles", "responsible"), esc(p.responsible));
    } else if (key === "community") {
      rows =
        row("类型", esc(p.type_label) + "网格") +
        row(lab("roles", "contract"), esc(p.contract)) +
        row(lab("roles", "pairing"), esc(p.pairing)) +
        row(lab("roles", "responsible"), esc(p.responsible));
    } else if (key === "unit_grid") {
      rows = row("类型", esc(p.kind_label || lab("layers", "unit_grid"))) + row(lab("roles", "responsible"), esc(p.responsible));
    } else if (key === "road_section") {
      rows = row("起止", esc(p.extent)) + row(lab("roles", "road_chief"), esc(p.road_chief)) + row(lab("roles", "responsible"), esc(p.responsible));
    } else if (key === "key_site") {
      rows =
        row("类型", esc(p.kind_label)) +
        row(lab("roles", "lead"), esc(p.lead)) +
        row(lab("roles", "responsible"), esc(p.responsible)) +
        row("周边范围", esc(p.zone_radius_m) + " 米");
    } else if (key === "supervision_area") {
      rows = row(lab("roles", "supervision"), esc(p.supervision));
    } else if (key === "key_site_zone") {
      rows = row("范围", "周边 " + esc(p.zone_radius_m) + " 米（同标准督查）");
    } else if (key === "assessment_point") {
      rows =
        row("类型", esc(p.point_type_label) + (p.must_check ? "（必查点）" : "")) +
        row("状态", '<b style="color:' + esc(p.compliance_color) + '">' + esc(p.compliance_label) + "</b>") +
        row(lab("points", "responsible_unit"), esc(p.responsible_unit_name)) +
        row(lab("points", "point_chief"), esc(p.point_chief)) +
        row("最近检查", esc((p.last_inspected_at || "").slice(0, 10)) || lab("compliance", "uninspected")) +
        ((p.failed || []).length ? row("未达标条目", esc(p.failed.join("、"))) : "") +
        row("详情", '<a href="/points?community=' + encodeURIComponent(p.community_code || "") + '">点位列表</a>');
    }
    rows += countsRows(p);
    var code = '<div class="cg-code">编码 ' + esc(p.code) + "</div>";
    return '<div class="cg-popup">' + title + "<table>" + rows + "</table>" + code + "</div>";
  }

  function BoundaryLayer(map, entry, ctx) {
    this.map = map;
    this.entry = entry;
    this.ctx = ctx;
    this.group = L.featureGroup();
    this.loadedZoom = null;
    this.max = { open: 0, overdue: 0 };
    this.data = null;
  }

  BoundaryLayer.prototype.style = function (feature) {
    var key = this.entry.key;
    var p = feature.properties || {};
    if (key === "county") return { color: "#b3261e", weight: 3, fill: false, dashArray: "10 6" };
    if (key === "township") return { color: "#37474f", weight: 2.2, fillColor: "#cfd8dc", fillOpacity: 0.04 };
    if (key === "central_city") return { color: "#e65100", weight: 2.6, dashArray: "2 6", fillColor: "#ffcc80", fillOpacity: 0.06 };
    if (key === "community") {
      var metric = this.ctx.choropleth || "open";
      return {
        color: "#5d4037",
        weight: 1.4,
        fillColor: ramp(p[metric], this.max[metric]),
        fillOpacity: 0.55,
      };
    }
    if (key === "unit_grid") return { color: "#1e88e5", weight: 0.8, fillColor: "#90caf9", fillOpacity: 0.12 };
    if (key === "supervision_area")
      return { color: "#00897b", weight: 2, dashArray: "6 6", fillColor: "#80cbc4", fillOpacity: 0.05 };
    if (key === "key_site_zone")
      return { color: "#8e24aa", weight: 1.2, dashArray: "4 4", fillColor: "#ce93d8", fillOpacity: 0.07 };
    if (key === "road_section") return { color: roadColor(p.open), weight: 5, opacity: 0.9, lineCap: "round" };
    if (key === "assessment_point")
      return { color: p.compliance_color || "#757575", weight: p.must_check ? 3 : 1.6, fillColor: p.compliance_color || "#757575", fillOpacity: 0.3 };
    return { color: "#333", weight: 1 };
  };

  BoundaryLayer.prototype.render = function (fc) {
    var self = this;
    var key = this.entry.key;
    this.data = fc;
    var feats = fc.features || [];
    this.max = { open: 0, overdue: 0 };
    feats.forEach(function (f) {
      var p = f.properties || {};
      self.max.open = Math.max(self.max.open, p.open || 0);
      self.max.overdue = Math.max(self.max.overdue, p.overdue || 0);
    });
    this.group.clearLayers();
    var layer = L.geoJSON(fc, {
      pane: this.pane,
      style: function (f) {
        return self.style(f);
      },
      pointToLayer: function (f, latlng) {
        if (key === "assessment_point") {
          var pp = f.properties || {};
          // compliance colour fills the marker; a must-check point (必查点) has a thick dark ring
          return L.circleMarker(latlng, {
            pane: self.pane,
            radius: pp.must_check ? 7 : 5,
            color: pp.must_check ? "#212121" : pp.compliance_color || "#757575",
            weight: pp.must_check ? 3 : 1.5,
            fillColor: pp.compliance_color || "#757575",
            fillOpacity: 0.9,
            className: "cg-point cg-point-" + (pp.compliance || "uninspected") + (pp.must_check ? " cg-point-must" : ""),
          });
        }
        return L.circleMarker(latlng, {
          pane: self.pane,
          radius: 6,
          color: "#4a148c",
          weight: 3,
          fillColor: "#ffffff",
          fillOpacity: 1,
          className: "cg-key-site",
        });
      },
      onEachFeature: function (f, lyr) {
        var p = f.properties || {};
        lyr.bindPopup(popupFor(key, p), { maxWidth: 340 });
        if (key === "township" || key === "community") {
          lyr.bindTooltip(esc(p.name), {
            permanent: true,
            direction: "center",
            className: "cg-label cg-label-" + key,
          });
        } else if (key === "key_site" || key === "road_section" || key === "assessment_point") {
          lyr.bindTooltip(esc(p.name), { sticky: true, className: "cg-hover" });
        }
      },
    });
    this.group.addLayer(layer);
    state.layerCounts[key] = feats.length;
    if (key === "community" && this.ctx.onChoropleth) this.ctx.onChoropleth(this);
  };

  BoundaryLayer.prototype.restyle = function () {
    var self = this;
    this.group.eachLayer(function (gj) {
      if (gj.setStyle)
        gj.setStyle(function (f) {
          return self.style(f);
        });
    });
  };

  BoundaryLayer.prototype.load = function (force) {
    var self = this;
    if (this.entry.data) {
      if (!this.data) this.render(this.entry.data);
      return Promise.resolve();
    }
    var z = Math.floor(this.map.getZoom());
    var zkey = this.entry.geometry === "point" ? "all" : z;
    if (!force && this.loadedZoom === zkey) return Promise.resolve();
    this.loadedZoom = zkey;
    var url = withParams(this.entry.url, {
      zoom: this.entry.geometry === "point" ? null : z,
      display_crs: this.ctx.cfg.displayCrs,
    });
    return getJSON(url).then(function (fc) {
      self.render(fc);
    });
  };

  function labelClasses(map) {
    var z = map.getZoom();
    var c = map.getContainer();
    c.classList.toggle("cg-z-low", z <= 12);
    c.classList.toggle("cg-z-mid", z >= 13 && z <= 15);
    c.classList.toggle("cg-z-high", z >= 16);
  }

  function setupBoundaries(map, cfg, ctx) {
    var layers = {};
    var order = [];
    (cfg.layers || []).forEach(function (entry, i) {
      var bl = new BoundaryLayer(map, entry, ctx);
      // one pane per layer, stacked in the configured order whatever order the data arrives in
      bl.pane = "cg-pane-" + entry.key;
      if (!map.getPane(bl.pane)) map.createPane(bl.pane).style.zIndex = String(410 + i);
      layers[entry.key] = bl;
      order.push(bl);
    });
    ctx.boundaries = layers;
    map.on("overlayadd", function (e) {
      order.forEach(function (bl) {
        if (bl.group === e.layer) bl.load(false);
      });
    });
    map.on("zoomend", function () {
      labelClasses(map);
      order.forEach(function (bl) {
        if (map.hasLayer(bl.group)) bl.load(false);
      });
    });
    labelClasses(map);
    var loads = order.map(function (bl) {
      if (bl.entry.visible) {
        bl.group.addTo(map);
        return bl.load(true).catch(function () {});
      }
      return Promise.resolve();
    });
    return { layers: layers, order: order, ready: Promise.all(loads) };
  }

  // ------------------------------------------------------------------ issues

  function issueIcon(p, cfg) {
    var color = (cfg.stateColors || {})[p.state] || "#616161";
    var cls = "cg-issue cg-state-" + esc(p.state) + (p.overdue ? " cg-is-overdue" : "") + (p.recurrence ? " cg-is-recurrence" : "");
    return L.divIcon({
      className: cls,
      html: '<span class="cg-dot" style="background:' + color + '"></span>',
      iconSize: [16, 16],
      iconAnchor: [8, 8],
      popupAnchor: [0, -8],
    });
  }

  function clusterIcon(cluster) {
    var children = cluster.getAllChildMarkers();
    var overdue = 0;
    var open = 0;
    children.forEach(function (m) {
      var p = m.cgProps || {};
      if (p.overdue) overdue += 1;
      if (p.open) open += 1;
    });
    var n = children.length;
    var cls = overdue ? "cg-cluster-overdue" : open ? "cg-cluster-open" : "cg-cluster-closed";
    var size = n < 10 ? 32 : n < 100 ? 38 : 46;
    return L.divIcon({
      html: "<div><span>" + n + "</span></div>",
      className: "marker-cluster cg-cluster " + cls,
      iconSize: L.point(size, size),
    });
  }

  var REASSIGNABLE = { assigned: true, rectifying: true, returned: true, triage: true };

  function issuePopup(p, cfg) {
    var color = (cfg.stateColors || {})[p.state] || "#616161";
    var badges =
      '<span class="cg-badge" style="background:' + color + '">' + esc(p.state_label) + "</span>" +
      (p.overdue ? '<span class="cg-badge cg-badge-overdue">' + esc(lab("actions", "overdue")) + "</span>" : "") +
      (p.escalated ? '<span class="cg-badge cg-badge-overdue">已升级</span>' : "") +
      (p.recurrence ? '<span class="cg-badge cg-badge-rec">' + esc(lab("actions", "recurrence")) + "</span>" : "");
    var sourceLabel = lab("sources", p.source);
    var place = [p.township, p.community, p.road_section].filter(Boolean).map(esc).join(" · ");
    var rows =
      row("来源", esc(sourceLabel)) +
      row("上报时间", fmtTime(p.reported_at) + ' <span class="cg-muted">（' + fmtAge(p.age_days) + "）</span>") +
      row("整改时限", p.deadline ? fmtTime(p.deadline) : "") +
      row(lab("roles", "owner"), esc(p.owner_unit)) +
      (p.owner_basis ? row("认定依据", esc(p.owner_basis)) : "") +
      row(lab("roles", "co_responsible"), esc(p.co_units)) +
      row("责任领导", esc(p.leaders)) +
      row("位置", place) +
      row("地址", esc(p.address)) +
      row("描述", esc(p.description)) +
      (p.repeat_count ? row("反弹次数", esc(p.repeat_count)) : "");
    var actions = "";
    if (cfg.actions && cfg.actions.detail) {
      actions += '<a href="#" class="cg-link" data-cg-detail="' + p.id + '">详情与处理记录</a>';
    }
    if (cfg.draw && REASSIGNABLE[p.state]) {
      actions += '<button type="button" class="cg-btn cg-btn-small" data-perm="issue.dispatch" data-cg-reassign="' + p.id + '">' + esc(lab("actions", p.state === "triage" ? "dispatch" : "reassign")) + "</button>";
    }
    return (
      '<div class="cg-popup cg-issue-popup"><h4>#' + esc(p.id) + " " + esc(p.category_name) + "</h4>" +
      '<div class="cg-badges">' + badges + "</div><table>" + rows + "</table>" +
      (actions ? '<div class="cg-actions">' + actions + "</div>" : "") + "</div>"
    );
  }

  function fromDetail(d) {
    var names = function (xs, key) {
      return (xs || []).map(function (x) { return x[key]; }).filter(Boolean).filter(function (v, i, a) { return a.indexOf(v) === i; }).join("、");
    };
    var age = d.reported_at ? (Date.now() - new Date(d.reported_at).getTime()) / 86400000 : null;
    return {
      version: d.version,
      state: d.state,
      state_label: d.state_label,
      overdue: (d.flags || []).indexOf("overdue") >= 0,
      escalated: (d.flags || []).indexOf("escalated") >= 0,
      recurrence: d.recurrence_of !== null && d.recurrence_of !== undefined,
      category_name: d.category && d.category.name,
      source: d.source,
      reported_at: d.reported_at,
      deadline: d.deadline,
      age_days: age,
      owner_unit: d.owner_unit ? d.owner_unit.name : "",
      owner_basis: d.owner_basis || "",
      co_units: names(d.co_responsible_units, "name"),
      leaders: names(d.leaders, "title"),
      township: d.township && d.township.name,
      community: d.community && d.community.name,
      road_section: d.road_section && d.road_section.name,
      address: d.address,
      description: d.description,
      repeat_count: d.repeat_count,
    };
  }

  function categoryDescendants(categories) {
    var children = {};
    (categories || []).forEach(function (c) {
      if (c.parent) (children[c.parent] = children[c.parent] || []).push(c.code);
    });
    return function (code) {
      var out = {};
      var stack = [code];
      while (stack.length) {
        var c = stack.pop();
        if (out[c]) continue;
        out[c] = true;
        (children[c] || []).forEach(function (x) {
          stack.push(x);
        });
      }
      return out;
    };
  }

  function IssueLayer(map, cfg, ctx) {
    this.map = map;
    this.cfg = cfg;
    this.ctx = ctx;
    this.group = L.markerClusterGroup
      ? L.markerClusterGroup({
          iconCreateFunction: clusterIcon,
          maxClusterRadius: 44,
          showCoverageOnHover: false,
          spiderfyOnMaxZoom: true,
          disableClusteringAtZoom: 18,
          chunkedLoading: true,
        })
      : L.featureGroup();
    this.filters = {};
    this.data = null;
    this.descendants = categoryDescendants((cfg.filters || {}).categories);
    var names = (this.catNames = {});
    ((cfg.filters || {}).categories || []).forEach(function (c) {
      names[c.code] = c.name;
    });
  }

  IssueLayer.prototype.matches = function (p) {
    var f = this.filters;
    if (f.category && !this.descendants(f.category)[p.category]) return false;
    if (f.state && p.state !== f.state) return false;
    if (f.kind === "open" && !p.open) return false;
    if (f.kind === "closed" && p.open) return false;
    if (f.source && p.source !== f.source) return false;
    if (f.overdue && !p.overdue) return false;
    if (f.recurrent && !p.recurrence) return false;
    var day = (p.reported_at || "").slice(0, 10);
    if (f.from && day < f.from) return false;
    if (f.to && day > f.to) return false;
    if (f.area && p.community_code !== f.area && p.township_code !== f.area) return false;
    if (f.zone && p.zone && p.zone !== f.zone) return false;
    return true;
  };

  IssueLayer.prototype.render = function (fc, total) {
    var self = this;
    var cfg = this.cfg;
    this.group.clearLayers();
    state.issueMarkers = [];
    var markers = [];
    (fc.features || []).forEach(function (f) {
      var p = f.properties || {};
      if (self.source.data && !self.matches(p)) return;
      var c = f.geometry.coordinates;
      if (!p.category_name) p.category_name = self.catNames[p.category] || p.category;
      if (!p.state_label) p.state_label = (cfg.stateLabels || {})[p.state] || p.state;
      var m = L.marker([c[1], c[0]], { icon: issueIcon(p, cfg), title: "#" + p.id + " " + (p.category_name || "") });
      m.cgProps = p;
      var full = p.owner_unit !== undefined || !(cfg.actions && cfg.actions.detail);
      m.bindPopup(full ? issuePopup(p, cfg) : '<div class="cg-popup"><h4>#' + esc(p.id) + " " + esc(p.category_name) + "</h4><p class='cg-muted'>加载中…</p></div>", { maxWidth: 360 });
      if (!full) {
        m.on("popupopen", function () {
          if (m.cgLoaded) return;
          getJSON(cfg.actions.detail.replace("{id}", encodeURIComponent(p.id))).then(function (d) {
            m.cgLoaded = true;
            m.setPopupContent(issuePopup(Object.assign({}, p, fromDetail(d)), cfg));
          });
        });
      }
      markers.push(m);
    });
    if (this.group.addLayers) this.group.addLayers(markers);
    else markers.forEach(function (m) { self.group.addLayer(m); });
    state.issueMarkers = markers;
    state.issueCount = markers.length;
    state.issueTotal = total === undefined ? markers.length : total;
    state.layerCounts.issues = markers.length;
    if (this.ctx.onIssues) this.ctx.onIssues(markers.length, state.issueTotal, fc.truncated);
  };

  IssueLayer.prototype.load = function () {
    var self = this;
    this.source = this.cfg.issues || {};
    if (this.source.data) {
      this.render(this.source.data);
      return Promise.resolve();
    }
    if (!this.source.url) return Promise.resolve();
    var f = this.filters;
    var params = {
      category: f.category,
      state: f.state,
      kind: f.kind,
      source: f.source,
      from: f.from,
      to: f.to,
      area: f.area,
      zone: f.zone,
      overdue: f.overdue ? "true" : null,
      recurrent: f.recurrent ? "true" : null,
      display_crs: this.cfg.displayCrs,
    };
    var url = withParams(this.source.url, params);
    state.lastIssueUrl = url;
    return getJSON(url).then(function (fc) {
      self.render(fc, fc.total);
    });
  };

  // ------------------------------------------------------------------ controls

  function layerControl(map, ctx, extra) {
    var overlays = {};
    var names = {};
    ((ctx.cfg.basemap || {}).tiles || []).forEach(function (t) {
      names[t.url] = t.name;
    });
    map.eachLayer(function (l) {
      if (l instanceof L.TileLayer) {
        overlays["底图：" + (names[l._url] || "瓦片")] = l;
      }
    });
    (ctx.boundaryOrder || []).slice().reverse().forEach(function (bl) {
      overlays[bl.entry.label] = bl.group;
    });
    Object.keys(extra || {}).forEach(function (k) {
      overlays[k] = extra[k];
    });
    return L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);
  }

  function legendControl(map, cfg, ctx, page) {
    var Legend = L.Control.extend({
      options: { position: "bottomright" },
      onAdd: function () {
        var div = L.DomUtil.create("div", "cg-legend");
        div.id = "cg-legend";
        var html = "";
        if (page === "heat") {
          html += "<h5>热力（得分 = 未结 + 2×反弹）</h5><div class='cg-ramp'>";
          HEAT_RAMP.forEach(function (c) {
            html += '<span style="background:' + c + '"></span>';
          });
          html += "</div><div class='cg-ramp-labels'><span>低</span><span>高</span></div>";
        } else {
          html += "<h5>问题状态</h5><ul>";
          (cfg.legendStates || []).forEach(function (s) {
            html +=
              '<li><span class="cg-dot" style="background:' + (cfg.stateColors[s] || "#999") + '"></span>' +
              esc((cfg.stateLabels || {})[s] || s) + "</li>";
          });
          html += '<li><span class="cg-dot cg-dot-overdue"></span>超期（红圈）</li></ul>';
          if (ctx.boundaries && ctx.boundaries.community) {
            html += '<h5>社区网格 <select id="cg-choropleth" aria-label="网格着色"><option value="open">未结问题</option><option value="overdue">超期问题</option></select></h5>';
            html += "<div class='cg-ramp'><span style='background:#f1f8e9'></span>";
            RAMP.forEach(function (c) {
              html += '<span style="background:' + c + '"></span>';
            });
            html += "</div><div class='cg-ramp-labels'><span>0</span><span id='cg-ramp-max'>多</span></div>";
          }
          if (ctx.boundaries && ctx.boundaries.road_section) {
            html +=
              "<h5>路段（未结问题）</h5><ul class='cg-inline'>" +
              '<li><span class="cg-line" style="background:#43a047"></span>0</li>' +
              '<li><span class="cg-line" style="background:#fb8c00"></span>1–2</li>' +
              '<li><span class="cg-line" style="background:#d32f2f"></span>≥3</li></ul>';
          }
          if (ctx.boundaries && (ctx.boundaries.key_site || ctx.boundaries.supervision_area)) {
            html +=
              "<ul>" +
              '<li><span class="cg-dot cg-dot-site"></span>重点点位 <span class="cg-zone"></span>周边400米</li>' +
              '<li><span class="cg-box" style="border:2px dashed #00897b"></span>' + esc(lab("layers", "supervision_area")) + "</li></ul>";
          }
        }
        if (cfg.displayCrs === "gcj02") html += '<div class="cg-muted cg-crs">坐标已按底图转换为 GCJ-02 显示</div>';
        if (cfg.basemap && cfg.basemap.offline) html += '<div class="cg-muted cg-crs">离线模式：无底图</div>';
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
      },
    });
    var legend = new Legend().addTo(map);
    var sel = document.getElementById("cg-choropleth");
    if (sel) {
      sel.addEventListener("change", function () {
        ctx.choropleth = sel.value;
        ctx.boundaries.community.restyle();
        ctx.onChoropleth(ctx.boundaries.community);
      });
    }
    return legend;
  }

  function option(value, label, selected) {
    return '<option value="' + esc(value) + '"' + (selected ? " selected" : "") + ">" + esc(label) + "</option>";
  }

  function categoryOptions(categories) {
    var roots = [];
    var children = {};
    (categories || []).forEach(function (c) {
      if (c.parent) (children[c.parent] = children[c.parent] || []).push(c);
      else roots.push(c);
    });
    var html = option("", "全部类别");
    roots.forEach(function (r) {
      html += '<optgroup label="' + esc(r.name) + '">' + option(r.code, "全部" + r.name);
      (children[r.code] || []).forEach(function (c) {
        html += option(c.code, c.name);
        (children[c.code] || []).forEach(function (g) {
          html += option(g.code, "  " + g.name);
        });
      });
      html += "</optgroup>";
    });
    return html;
  }

  function zoneOptions(zones) {
    var html = '<option value="">全部</option>';
    (zones || []).forEach(function (z) {
      html += '<option value="' + esc(z.value) + '">' + esc(z.label) + "</option>";
    });
    return html;
  }

  function areaOptions(areas) {
    var html = option("", "全部片区");
    var groups = {};
    (areas || []).forEach(function (a) {
      var g = a.type === "township" || a.type === "street" ? lab("layers", "township") : "社区/行政村";
      (groups[g] = groups[g] || []).push(a);
    });
    Object.keys(groups).forEach(function (g) {
      html += '<optgroup label="' + g + '">';
      groups[g].forEach(function (a) {
        html += option(a.code, a.name);
      });
      html += "</optgroup>";
    });
    return html;
  }

  function stateOptions(cfg) {
    var html = option("", "全部状态") + option("kind:open", "未结（全部）") + option("kind:closed_fixed", (cfg.stateLabels || {}).closed || "closed");
    Object.keys(cfg.stateLabels || {}).forEach(function (s) {
      html += option("state:" + s, cfg.stateLabels[s]);
    });
    return html;
  }

  function sourceOptions(filters) {
    var html = option("", "全部来源");
    (filters.sources || []).forEach(function (s) {
      html += option(s.value, s.label);
    });
    return html;
  }

  function panel(id, title, cls) {
    var box = el("section", { id: id, class: "cg-panel " + (cls || "") });
    box.innerHTML =
      '<div class="cg-panel-head"><h3>' + esc(title) + '</h3><button type="button" class="cg-toggle" data-perm="session" aria-label="收起">−</button></div><div class="cg-panel-body"></div>';
    box.querySelector(".cg-toggle").addEventListener("click", function () {
      box.classList.toggle("cg-collapsed");
      this.textContent = box.classList.contains("cg-collapsed") ? "+" : "−";
    });
    document.body.appendChild(box);
    return box.querySelector(".cg-panel-body");
  }

  function issueFilterPanel(cfg, issues) {
    var filters = cfg.filters || {};
    var defaults = filters.defaults || {};
    var body = panel("cg-filters", "问题筛选", "cg-panel-left");
    body.innerHTML =
      '<label>问题类别<select id="cg-f-category">' + categoryOptions(filters.categories) + "</select></label>" +
      '<label>状态<select id="cg-f-state">' + stateOptions(cfg) + "</select></label>" +
      '<label>来源<select id="cg-f-source">' + sourceOptions(filters) + "</select></label>" +
      '<div class="cg-row"><label>自<input type="date" id="cg-f-from" value="' + esc(defaults.from || "") + '"></label>' +
      '<label>至<input type="date" id="cg-f-to" value="' + esc(defaults.to || "") + '"></label></div>' +
      '<label>片区<select id="cg-f-area">' + areaOptions(filters.areas) + "</select></label>" +
      '<label>城乡<select id="cg-f-zone">' + zoneOptions(filters.zones) + "</select></label>" +
      '<div class="cg-row cg-checks"><label><input type="checkbox" id="cg-f-overdue">仅超期</label>' +
      '<label><input type="checkbox" id="cg-f-recurrent">仅反弹回潮</label></div>' +
      '<div class="cg-row"><button type="button" class="cg-btn" id="cg-f-apply" data-perm="map.read">查询</button>' +
      '<button type="button" class="cg-btn cg-btn-ghost" id="cg-f-reset" data-perm="map.read">重置</button></div>' +
      '<div class="cg-status" id="cg-issue-status">加载中…</div>';

    function read() {
      var st = document.getElementById("cg-f-state").value;
      return {
        category: document.getElementById("cg-f-category").value,
        state: st.indexOf("state:") === 0 ? st.slice(6) : "",
        kind: st.indexOf("kind:") === 0 ? st.slice(5) : "",
        source: document.getElementById("cg-f-source").value,
        from: document.getElementById("cg-f-from").value,
        to: document.getElementById("cg-f-to").value,
        area: document.getElementById("cg-f-area").value,
        zone: document.getElementById("cg-f-zone").value,
        overdue: document.getElementById("cg-f-overdue").checked,
        recurrent: document.getElementById("cg-f-recurrent").checked,
      };
    }
    issues.filters = read();
    function apply() {
      issues.filters = read();
      return issues.load();
    }
    cg.applyFilters = apply;
    document.getElementById("cg-f-apply").addEventListener("click", apply);
    ["cg-f-category", "cg-f-state", "cg-f-source", "cg-f-area", "cg-f-zone", "cg-f-overdue", "cg-f-recurrent"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", apply);
    });
    document.getElementById("cg-f-reset").addEventListener("click", function () {
      ["cg-f-category", "cg-f-state", "cg-f-source", "cg-f-area", "cg-f-zone"].forEach(function (id) {
        document.getElementById(id).value = "";
      });
      document.getElementById("cg-f-from").value = defaults.from || "";
      document.getElementById("cg-f-to").value = defaults.to || "";
      document.getElementById("cg-f-overdue").checked = false;
      document.getElementById("cg-f-recurrent").checked = false;
      apply();
    });
  }

  function setIssueStatus(shown, total, truncated) {
    var box = document.getElementById("cg-issue-status");
    if (!box) return;
    box.innerHTML =
      "显示 <b id='cg-issue-count'>" + shown + "</b> 个问题" +
      (total !== undefined && total !== shown ? "（共 " + total + " 个" + (truncated ? "，请缩小范围" : "") + "）" : "");
  }

  // ------------------------------------------------------------------ side panel: detail, selection, reassign

  function sidePanel() {
    var box = document.getElementById("cg-side");
    if (!box) {
      box = el("aside", { id: "cg-side", class: "cg-side cg-side-float" });
      box.innerHTML = '<button type="button" class="cg-close" data-perm="session" aria-label="关闭">×</button><div class="cg-side-body"></div>';
      box.querySelector(".cg-close").addEventListener("click", function () {
        box.classList.remove("cg-open");
      });
      document.body.appendChild(box);
    }
    box.classList.add("cg-open");
    return box.querySelector(".cg-side-body");
  }

  function showDetail(cfg, id) {
    var body = sidePanel();
    body.innerHTML = "<h3>问题 #" + esc(id) + "</h3><p class='cg-muted'>加载中…</p>";
    var url = cfg.actions.detail.replace("{id}", encodeURIComponent(id));
    return getJSON(url).then(function (d) {
      var hist = (d.history || [])
        .map(function (e) {
          var who = e.actor ? esc(e.actor.who) + (e.actor.unit ? "（" + esc(e.actor.unit) + "）" : "") : "";
          var change = e.data && e.data.to_unit ? " → " + esc(e.data.to_unit) : "";
          if (e.action === "reassign" && e.data && e.data.batch && cfg.actions.undo && cfg.draw) {
            change += ' <button type="button" class="cg-btn cg-btn-small cg-btn-ghost" data-perm="issue.dispatch" data-cg-undo-batch="' +
              esc(e.data.batch) + '">撤销整批改派</button>';
          }
          return (
            '<li class="cg-event cg-event-' + esc(e.action) + '"><time>' + fmtTime(e.at) + "</time> <b>" +
            esc(lab("actions", e.action)) + "</b>" + change + " <span class='cg-muted'>" + who + "</span>" +
            (e.note ? "<div class='cg-note'>" + esc(e.note) + "</div>" : "") + "</li>"
          );
        })
        .join("");
      var owner = d.owner_unit ? esc(d.owner_unit.name) : "—";
      body.innerHTML =
        "<h3>问题 #" + esc(d.id) + " " + esc(d.category && d.category.name) + "</h3>" +
        "<table class='cg-kv'>" +
        row("状态", esc(d.state_label)) +
        row(lab("roles", "responsible"), owner) +
        row("整改时限", fmtTime(d.deadline)) +
        row("上报时间", fmtTime(d.reported_at)) +
        "</table><p><a class='cg-link' href='/issues/" + encodeURIComponent(d.id) + "'>问题页（进展说明、转办申请）</a></p>" +
        "<h4>处理记录</h4><ol class='cg-history' id='cg-history'>" + hist + "</ol>" +
        "<div id='cg-r-result' class='cg-status' role='status'></div>";
    });
  }

  function pointInPolygon(lat, lng, ring) {
    var inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var yi = ring[i].lat, xi = ring[i].lng, yj = ring[j].lat, xj = ring[j].lng;
      var hit = yi > lat !== yj > lat && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi;
      if (hit) inside = !inside;
    }
    return inside;
  }

  function selectWithin(polygonLayer) {
    var rings = polygonLayer.getLatLngs();
    var ring = Array.isArray(rings[0]) ? rings[0] : rings;
    return state.issueMarkers.filter(function (m) {
      var ll = m.getLatLng();
      return pointInPolygon(ll.lat, ll.lng, ring);
    });
  }

  // The unit picker: a search box over a list (name or code), the place's responsible
  // units first. `responsible` maps key -> role label (empty for a bulk selection).
  function unitPicker(units, responsible, selected) {
    var mine = units.filter(function (u) { return responsible[u.key]; });
    var rest = units.filter(function (u) { return !responsible[u.key]; });
    function opts(list, withRole) {
      return list.map(function (u) {
        var label = u.name + "（" + u.key + "）" + (withRole && responsible[u.key] ? " · " + responsible[u.key] : "");
        return option(u.key, label, u.key === selected);
      }).join("");
    }
    return (
      "<label>" + esc(lab("roles", "responsible")) + "<input type='search' id='cg-r-search' placeholder='输入单位名称或编码搜索' autocomplete='off'></label>" +
      "<select id='cg-r-unit' size='7' aria-label='选择责任单位'>" +
      (mine.length ? "<optgroup label='该位置的责任单位'>" + opts(mine, true) + "</optgroup><optgroup label='其他单位'>" : "") +
      opts(rest, false) + (mine.length ? "</optgroup>" : "") + "</select>"
    );
  }

  function bindPicker(onChange) {
    var search = document.getElementById("cg-r-search");
    var select = document.getElementById("cg-r-unit");
    search.addEventListener("input", function () {
      var q = search.value.trim().toLowerCase();
      var first = null;
      Array.prototype.forEach.call(select.options, function (o) {
        var hit = !q || o.text.toLowerCase().indexOf(q) >= 0;
        o.hidden = !hit;
        if (hit && !first) first = o;
      });
      var cur = select.options[select.selectedIndex];
      if ((!cur || cur.hidden) && first) {
        select.value = first.value;
        onChange();
      }
    });
    select.addEventListener("change", onChange);
  }

  // Chinese sentences for a refused request (the API answers problem+json in English)
  function problemText(r) {
    var d = r.data || {};
    var type = String(d.type || "");
    if (type.indexOf("OutsideResponsibilityError") >= 0) return "所选单位不是该位置的责任单位，请填写理由";
    if (r.status === 401) return "登录已过期，请重新登录";
    if (r.status === 403) return "您没有执行此操作的权限";
    if (r.status === 404) return "问题不存在或不在您的权限范围内";
    if (r.status === 409) return "问题已被他人处理或状态已变化，请刷新后重试";
    if (r.status === 422) return d.field === "note" ? "请填写理由" : d.field === "unit" ? "请选择责任单位" : "填写的内容有误，请检查";
    return "提交失败（" + r.status + "），请稍后重试";
  }

  // One issue from its popup: 交办 (triage) or 改派, the suggestion preselected, a warning
  // and a required reason for a unit outside the place's responsible units.
  function dispatchPanel(cfg, ctx, p) {
    var triage = p.state === "triage";
    var word = lab("actions", triage ? "dispatch" : "reassign");
    var body = sidePanel();
    body.innerHTML = "<h3>" + esc(word) + " #" + esc(p.id) + "</h3><p class='cg-muted'>加载中…</p>";
    var url = cfg.actions.options.replace("{id}", encodeURIComponent(p.id));
    return getJSON(url).then(function (o) {
      state.dispatchOptions = o;
      var responsible = {};
      o.responsible.forEach(function (u) { responsible[u.key] = u.role_label || lab("roles", "responsible"); });
      var suggested = o.units.filter(function (u) { return u.key === o.suggested; })[0];
      var place = o.responsible.map(function (u) { return esc(u.name); }).join("、") || "（无）";
      body.innerHTML =
        "<h3>" + esc(word) + " #" + esc(p.id) + " " + esc(p.category_name) + "</h3>" +
        "<p id='cg-r-suggest' class='cg-suggest'>" +
        (suggested ? "建议" + esc(word) + "给：<b>" + esc(suggested.name) + "</b>" + (o.suggested_reason ? "<br><span class='cg-muted'>依据：" + esc(o.suggested_reason) + "</span>" : "")
          : "责任认定规则未找到责任单位，请选择") + "</p>" +
        "<p class='cg-muted'>该位置的责任单位：" + place + "</p>" +
        unitPicker(o.units, responsible, o.suggested) +
        "<p id='cg-r-warn' class='cg-warn' hidden>所选单位不是该位置的责任单位。如确需" + esc(word) + "，请填写理由，理由将记入处理记录。</p>" +
        "<label id='cg-r-note-label'>" + (triage ? "交办说明" : "改派理由（必填）") + "<textarea id='cg-r-note' rows='3'></textarea></label>" +
        "<div class='cg-row'><button type='button' class='cg-btn' id='cg-r-submit' data-perm='issue.dispatch'>确认" + esc(word) + "</button>" +
        "<button type='button' class='cg-btn cg-btn-ghost' id='cg-r-cancel' data-perm='issue.dispatch'>取消</button></div>" +
        "<div id='cg-r-result' class='cg-status' role='status'></div>";
      function outside() {
        var unit = document.getElementById("cg-r-unit").value;
        return !!unit && !responsible[unit] && unit !== o.current_owner;
      }
      function refresh() {
        var off = outside();
        document.getElementById("cg-r-warn").hidden = !off;
        document.getElementById("cg-r-note-label").firstChild.textContent = off
          ? "理由（必填：不在责任单位之列）"
          : triage ? "交办说明" : "改派理由（必填）";
      }
      bindPicker(refresh);
      refresh();
      document.getElementById("cg-r-cancel").addEventListener("click", function () {
        document.getElementById("cg-side").classList.remove("cg-open");
      });
      document.getElementById("cg-r-submit").addEventListener("click", function () {
        var unit = document.getElementById("cg-r-unit").value;
        var note = document.getElementById("cg-r-note").value.trim();
        var out = document.getElementById("cg-r-result");
        if (!unit) { out.textContent = "请选择责任单位"; return; }
        if ((outside() || !triage) && !note) { out.textContent = outside() ? "所选单位不是该位置的责任单位，请填写理由" : "请填写改派理由"; return; }
        var button = this;
        button.disabled = true;
        out.textContent = "提交中…";
        var tpl = triage ? cfg.actions.dispatch : cfg.actions.reassign;
        var body = { unit: unit, expected_version: p.version };
        if (note) body.note = note;
        sendJSON(tpl.replace("{id}", encodeURIComponent(p.id)), body).then(function (r) {
          state.lastDispatch = { ok: r.ok, status: r.status, data: r.data };
          button.disabled = false;
          if (!r.ok) {
            out.textContent = problemText(r);
            toast(word + "未完成：" + problemText(r), true);
            return;
          }
          out.innerHTML = esc(word) + "成功：#" + esc(p.id) + " → " + esc(r.data.owner_unit && r.data.owner_unit.name) +
            " <a href='#' class='cg-link' data-cg-detail='" + esc(p.id) + "'>查看处理记录</a>";
          toast(word + "成功", false);
          return ctx.issues.load();
        });
      });
    });
  }

  // A drawn selection: one batch (批量改派) with a confirmation of the counts, issues the
  // target already owns skipped untouched, and an undo of the whole batch.
  function reassignPanel(cfg, ctx, markers) {
    var usable = markers.filter(function (m) {
      return REASSIGNABLE[m.cgProps.state] && m.cgProps.state !== "triage";
    });
    state.selection = usable.map(function (m) {
      return m.cgProps.id;
    });
    markers.forEach(function (m) {
      var node = m.getElement && m.getElement();
      if (node) node.classList.add("cg-selected");
    });
    var body = sidePanel();
    var skipped = markers.length - usable.length;
    var list = usable
      .slice(0, 200)
      .map(function (m) {
        var p = m.cgProps;
        return "<li>#" + esc(p.id) + " " + esc(p.category_name) + " <span class='cg-muted'>" + esc(p.state_label) + (p.owner_unit ? " · " + esc(p.owner_unit) : "") + "</span></li>";
      })
      .join("");
    body.innerHTML =
      "<h3>按位置批量改派</h3>" +
      "<p>已选 <b id='cg-selected-count'>" + usable.length + "</b> 个可改派问题" +
      (skipped ? "（另有 " + skipped + " 个待分拣、已结案或待复查，不在本次改派之列；待分拣问题请逐个交办）" : "") + "</p>" +
      "<ol class='cg-selection'>" + list + "</ol>" +
      unitPicker(cfg.units || [], {}, "") +
      "<label>改派理由（必填）<textarea id='cg-r-note' rows='3' placeholder='例如：经核实属于该单位职责范围'></textarea></label>" +
      "<div class='cg-row'><button type='button' class='cg-btn' id='cg-r-submit' data-perm='issue.dispatch'" + (usable.length ? "" : " disabled") + ">改派…</button>" +
      "<button type='button' class='cg-btn cg-btn-ghost' id='cg-r-cancel' data-perm='issue.dispatch'>取消</button></div>" +
      "<div id='cg-r-confirm-box'></div>" +
      "<div id='cg-r-result' class='cg-status' role='status'></div>";
    bindPicker(function () {
      document.getElementById("cg-r-confirm-box").innerHTML = "";
    });
    document.getElementById("cg-r-cancel").addEventListener("click", function () {
      clearSelection(ctx);
      document.getElementById("cg-side").classList.remove("cg-open");
    });
    document.getElementById("cg-r-submit").addEventListener("click", function () {
      var select = document.getElementById("cg-r-unit");
      var unit = select.value;
      var note = document.getElementById("cg-r-note").value.trim();
      var out = document.getElementById("cg-r-result");
      if (!unit) { out.textContent = "请选择责任单位"; return; }
      if (!note) { out.textContent = "请填写改派理由"; return; }
      out.textContent = "";
      var own = usable.filter(function (m) { return m.cgProps.owner_unit_key === unit; }).length;
      var name = select.options[select.selectedIndex].text;
      var box = document.getElementById("cg-r-confirm-box");
      box.innerHTML =
        "<div class='cg-confirm' id='cg-r-confirm-text'>将把 <b>" + (usable.length - own) + "</b> 个问题改派给 <b>" + esc(name) + "</b>" +
        (own ? "；另有 <b>" + own + "</b> 个已由该单位主办，将跳过（状态和时限不变）" : "") +
        "。改派后整改时限重新计算，可整批撤销。</div>" +
        "<div class='cg-row'><button type='button' class='cg-btn' id='cg-r-confirm' data-perm='issue.dispatch'>确认改派</button>" +
        "<button type='button' class='cg-btn cg-btn-ghost' id='cg-r-back' data-perm='issue.dispatch'>返回修改</button></div>";
      document.getElementById("cg-r-back").addEventListener("click", function () { box.innerHTML = ""; });
      document.getElementById("cg-r-confirm").addEventListener("click", function () {
        this.disabled = true;
        out.textContent = "提交中…";
        var versions = {};
        usable.forEach(function (m) { versions[m.cgProps.id] = m.cgProps.version; });
        sendJSON(cfg.actions.bulk, { issue_ids: state.selection, unit: unit, note: note, versions: versions }).then(function (r) {
          box.innerHTML = "";
          if (!r.ok) {
            out.textContent = problemText(r);
            toast("批量改派未完成：" + problemText(r), true);
            return;
          }
          state.lastReassign = r.data;
          showBatch(cfg, ctx, r.data, out);
          clearSelection(ctx, true);
          return ctx.issues.load();
        });
      });
    });
  }

  var OUTCOME_LABELS = { reassigned: "已改派", skipped: "已跳过", restored: "已撤销", refused: "不能撤销", failed: "失败" };

  function showBatch(cfg, ctx, data, out) {
    var c = data.counts || {};
    var parts = Object.keys(OUTCOME_LABELS).filter(function (k) { return c[k]; }).map(function (k) {
      return OUTCOME_LABELS[k] + " <b>" + c[k] + "</b> 个";
    });
    var notes = data.items.filter(function (i) { return i.detail; }).map(function (i) {
      return "<li>#" + esc(i.issue_id) + " " + esc(OUTCOME_LABELS[i.outcome] || i.outcome) + "：" + esc(i.detail) + "</li>";
    }).join("");
    var ids = data.items.filter(function (i) { return i.outcome !== "failed"; }).slice(0, 20).map(function (i) {
      return '<a href="#" class="cg-link" data-cg-detail="' + i.issue_id + '">#' + i.issue_id + "</a>";
    }).join(" ");
    out.innerHTML =
      "<p id='cg-r-counts'>" + parts.join("，") + "</p>" + (notes ? "<ul class='cg-batch-notes'>" + notes + "</ul>" : "") +
      (ids ? "<div>查看处理记录：" + ids + "</div>" : "") +
      (c.reassigned ? "<div class='cg-row'><button type='button' class='cg-btn cg-btn-ghost' id='cg-r-undo' data-perm='issue.dispatch'>撤销本次批量改派</button></div>" : "");
    toast("批量改派：" + parts.join("，").replace(/<\/?b>/g, ""), !!c.failed);
    var undo = document.getElementById("cg-r-undo");
    if (!undo) return;
    undo.addEventListener("click", function () {
      undoBatch(cfg, ctx, data.batch, c.reassigned, out, undo);
    });
  }

  // Undo a whole batch (from its result or from an issue's history).
  function undoBatch(cfg, ctx, batch, count, out, button) {
    var what = count ? "已改派的 " + count + " 个问题" : "该批次改派的问题";
    if (!window.confirm("撤销本次批量改派？" + what + "将恢复原责任单位、状态和时限。")) return;
    if (button) button.disabled = true;
    return sendJSON(cfg.actions.undo.replace("{batch}", encodeURIComponent(batch)), {}).then(function (r) {
      if (!r.ok) {
        out.textContent = problemText(r);
        toast("撤销未完成：" + problemText(r), true);
        return;
      }
      state.lastUndo = r.data;
      var u = r.data.counts || {};
      var lines = r.data.items.filter(function (i) { return i.detail; }).map(function (i) {
        return "<li>#" + esc(i.issue_id) + "：" + esc(i.detail) + "</li>";
      }).join("");
      out.innerHTML = "<p id='cg-r-undone'>已撤销 <b>" + (u.restored || 0) + "</b> 个" +
        (u.refused ? "，<b>" + u.refused + "</b> 个不能撤销" : "") + "</p>" + (lines ? "<ul class='cg-batch-notes'>" + lines + "</ul>" : "");
      toast("已撤销批量改派：恢复 " + (u.restored || 0) + " 个", !!u.refused);
      return ctx.issues.load();
    });
  }

  function clearSelection(ctx, keepList) {
    if (ctx.drawn) ctx.drawn.clearLayers();
    state.issueMarkers.forEach(function (m) {
      var node = m.getElement && m.getElement();
      if (node) node.classList.remove("cg-selected");
    });
    if (!keepList) state.selection = [];
  }

  function setupDraw(map, cfg, ctx) {
    if (!cfg.draw || !L.Control.Draw) return;
    if (L.drawLocal) {
      var d = L.drawLocal.draw;
      d.toolbar.actions.text = "取消";
      d.toolbar.actions.title = "取消绘制";
      d.toolbar.finish.text = "完成";
      d.toolbar.finish.title = "完成绘制";
      d.toolbar.undo.text = "撤销最后一点";
      d.toolbar.undo.title = "撤销最后一点";
      d.toolbar.buttons.polygon = "画多边形选择问题";
      d.toolbar.buttons.rectangle = "画矩形选择问题";
      d.handlers.polygon.tooltip.start = "点击开始绘制选择范围";
      d.handlers.polygon.tooltip.cont = "继续点击绘制";
      d.handlers.polygon.tooltip.end = "点击第一个点结束";
      d.handlers.rectangle.tooltip.start = "按住并拖动画矩形";
      d.handlers.simpleshape.tooltip.end = "松开鼠标结束";
    }
    ctx.drawn = L.featureGroup().addTo(map);
    var control = new L.Control.Draw({
      position: "topleft",
      draw: {
        polygon: { allowIntersection: false, showArea: false, shapeOptions: { color: "#d50000", weight: 2 } },
        rectangle: { shapeOptions: { color: "#d50000", weight: 2 } },
        polyline: false,
        circle: false,
        marker: false,
        circlemarker: false,
      },
      edit: false,
    });
    map.addControl(control);
    markPerm(control.getContainer(), "issue.dispatch");
    map.on(L.Draw.Event.CREATED, function (e) {
      clearSelection(ctx);
      ctx.drawn.addLayer(e.layer);
      var chosen = selectWithin(e.layer);
      reassignPanel(cfg, ctx, chosen);
    });
  }

  // The draw toolbar's tools and the actions it adds while drawing (finish, undo the last
  // point, cancel) carry the permission they need, like every control of the pages.
  function markPerm(box, perm) {
    function mark() {
      Array.prototype.forEach.call(box.querySelectorAll("a, button"), function (a) {
        if (!a.hasAttribute("data-perm")) a.setAttribute("data-perm", perm);
      });
    }
    mark();
    new MutationObserver(mark).observe(box, { childList: true, subtree: true });
  }

  function bindPopupActions(map, cfg, ctx) {
    document.addEventListener("click", function (e) {
      var t = e.target;
      if (!(t instanceof Element)) return;
      var detail = t.closest("[data-cg-detail]");
      if (detail) {
        e.preventDefault();
        showDetail(cfg, detail.getAttribute("data-cg-detail"));
        return;
      }
      var ub = t.closest("[data-cg-undo-batch]");
      if (ub) {
        e.preventDefault();
        undoBatch(cfg, ctx, ub.getAttribute("data-cg-undo-batch"), 0, document.getElementById("cg-r-result"), ub);
        return;
      }
      var re = t.closest("[data-cg-reassign]");
      if (re) {
        e.preventDefault();
        var id = Number(re.getAttribute("data-cg-reassign"));
        var m = state.issueMarkers.filter(function (x) {
          return x.cgProps.id === id;
        });
        map.closePopup();
        clearSelection(ctx);
        if (m.length) dispatchPanel(cfg, ctx, m[0].cgProps);
      }
    });
  }

  // ------------------------------------------------------------------ page setup

  function basePage(map, cfg) {
    useLabels(cfg);
    if (cfg.timeZone) dateFmt = makeDateFmt(cfg.timeZone);
    document.body.classList.add("cg-page", "cg-page-" + cfg.page);
    map.attributionControl.setPrefix("Leaflet");
    setTimeout(function () {
      map.invalidateSize();
    }, 0);
    cfg.sourceLabels = {};
    ((cfg.filters || {}).sources || []).forEach(function (s) {
      cfg.sourceLabels[s.value] = s.label;
    });
  }

  function fitTo(map, groups) {
    var bounds = null;
    groups.forEach(function (g) {
      if (!g || !g.getBounds) return;
      var b = g.getBounds();
      if (b && b.isValid()) bounds = bounds ? bounds.extend(b) : L.latLngBounds(b.getSouthWest(), b.getNorthEast());
    });
    if (bounds) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 15 });
  }

  function finish(promise, after) {
    return promise
      .catch(function () {})
      .then(function () {
        if (after) after();
        state.ready = true;
        document.body.setAttribute("data-cg-ready", "1");
      });
  }

  cg.initCommandMap = function (map, cfg) {
    var ctx = { cfg: cfg, choropleth: "open" };
    basePage(map, cfg);
    ctx.onChoropleth = function (bl) {
      var max = document.getElementById("cg-ramp-max");
      if (max) max.textContent = String(bl.max[ctx.choropleth] || 0);
    };
    var b = setupBoundaries(map, cfg, ctx);
    ctx.boundaryOrder = b.order;
    var issues = new IssueLayer(map, cfg, ctx);
    ctx.issues = issues;
    cg.issues = issues;
    ctx.onIssues = setIssueStatus;
    if (cfg.issues) {
      issueFilterPanel(cfg, issues);
      issues.group.addTo(map);
    }
    layerControl(map, ctx, cfg.issues ? { "问题（按状态）": issues.group } : {});
    legendControl(map, cfg, ctx, "command");
    if (b.layers.community && b.layers.community.data) ctx.onChoropleth(b.layers.community);
    setupDraw(map, cfg, ctx);
    bindPopupActions(map, cfg, ctx);
    cg.ctx = ctx;
    return finish(Promise.all([b.ready, issues.load().catch(function () {})]));
  };

  cg.initLeaderMap = function (map, cfg) {
    var ctx = { cfg: cfg, choropleth: "open" };
    basePage(map, cfg);
    document.body.classList.add("cg-with-side");
    ctx.onChoropleth = function () {};
    var b = setupBoundaries(map, cfg, ctx);
    ctx.boundaryOrder = b.order;
    var issues = new IssueLayer(map, cfg, ctx);
    ctx.issues = issues;
    ctx.onIssues = function (n) {
      var s = document.getElementById("cg-leader-issue-count");
      if (s) s.textContent = String(n);
    };
    issues.group.addTo(map);
    layerControl(map, ctx, { "问题（按状态）": issues.group });
    legendControl(map, cfg, ctx, "leader");
    bindPopupActions(map, cfg, ctx);
    cg.ctx = ctx;
    var side = document.getElementById("cg-leader-side");
    if (side) {
      var p = el("p", { class: "cg-status" }, "地图上显示 <b id='cg-leader-issue-count'>…</b> 个相关问题");
      side.insertBefore(p, side.children[2] || null);
    }
    return finish(Promise.all([b.ready, issues.load().catch(function () {})]), function () {
      var own = b.order
        .filter(function (bl) {
          return bl.entry.key !== "county";
        })
        .map(function (bl) {
          return bl.group;
        });
      fitTo(map, own);
    });
  };

  // ------------------------------------------------------------------ heat page

  cg.initHeatMap = function (map, cfg) {
    var ctx = { cfg: cfg, choropleth: "open" };
    basePage(map, cfg);
    document.body.classList.add("cg-with-side");
    ctx.onChoropleth = function () {};
    var b = setupBoundaries(map, cfg, ctx);
    ctx.boundaryOrder = b.order;
    // context outlines: light, no fill, no labels clutter
    Object.keys(b.layers).forEach(function (k) {
      var bl = b.layers[k];
      bl.style = function () {
        if (k === "county") return { color: "#b3261e", weight: 2.5, fill: false, dashArray: "10 6" };
        if (k === "township") return { color: "#455a64", weight: 1.6, fill: false };
        return { color: "#8d6e63", weight: 0.8, fill: false, dashArray: "3 3" };
      };
    });
    var hexGroup = L.featureGroup().addTo(map);
    var heatGroup = L.layerGroup();
    var filters = cfg.filters || {};
    var defaults = filters.defaults || {};
    var bodyF = panel("cg-filters", "热力图条件", "cg-panel-left");
    bodyF.innerHTML =
      '<label>问题类别<select id="cg-h-category">' + categoryOptions(filters.categories) + "</select></label>" +
      '<label>来源<select id="cg-h-source">' + sourceOptions(filters) + "</select></label>" +
      '<label>时间窗口<select id="cg-h-days">' + option("30", "近30天") + option("90", "近90天", true) + option("180", "近180天") + option("365", "近一年") + option("custom", "自定义") + "</select></label>" +
      '<div class="cg-row" id="cg-h-custom" hidden><label>自<input type="date" id="cg-h-from" value="' + esc(defaults.from || "") + '"></label>' +
      '<label>至<input type="date" id="cg-h-to" value="' + esc(defaults.to || "") + '"></label></div>' +
      '<label>网格大小（H3 分辨率）<select id="cg-h-res">' + option("", "随缩放自动", !cfg.res) +
      [7, 8, 9, 10, 11].map(function (r) {
        return option(String(r), r + " 级（边长约 " + { 7: "1.2 千米", 8: "460 米", 9: "170 米", 10: "65 米", 11: "25 米" }[r] + "）", cfg.res === r);
      }).join("") + "</select></label>" +
      '<div class="cg-row"><button type="button" class="cg-btn" id="cg-h-apply" data-perm="map.read">更新</button></div>' +
      '<div class="cg-status" id="cg-heat-status">加载中…</div>';
    var side = sidePanel();
    document.getElementById("cg-side").classList.add("cg-side-fixed");
    side.innerHTML = "<h3>热点排行</h3><p class='cg-muted'>得分 = 未结问题 + 2 × 反弹回潮（时间窗口内）</p><ol class='cg-hotspots' id='cg-hotspots'></ol>";

    var hexIndex = {};
    function params() {
      var days = document.getElementById("cg-h-days").value;
      var res = document.getElementById("cg-h-res").value;
      var p = {
        category: document.getElementById("cg-h-category").value,
        source: document.getElementById("cg-h-source").value,
        display_crs: cfg.displayCrs,
      };
      if (days === "custom") {
        p.from = document.getElementById("cg-h-from").value;
        p.to = document.getElementById("cg-h-to").value;
      } else p.days = days;
      if (res) p.res = res;
      else p.zoom = Math.floor(map.getZoom());
      return p;
    }
    function renderHex(fc) {
      hexGroup.clearLayers();
      hexIndex = {};
      var max = fc.max_score || 0;
      var gj = L.geoJSON(fc, {
        style: function (f) {
          var p = f.properties;
          return {
            color: p.score > 0 ? "#7f0000" : "#9e9e9e",
            weight: 0.6,
            fillColor: p.score > 0 ? heatColor(p.score, max) : "#e0e0e0",
            fillOpacity: p.score > 0 ? 0.62 : 0.25,
            className: "cg-hex",
          };
        },
        onEachFeature: function (f, lyr) {
          var p = f.properties;
          hexIndex[p.cell] = lyr;
          lyr.bindTooltip(
            "<b>第 " + p.rank + " 名</b> 得分 " + p.score + "<br>问题 " + p.count + "，未结 " + p.open + "，超期 " + p.overdue + "，反弹 " + p.recurrences,
            { sticky: true }
          );
          lyr.bindPopup(
            '<div class="cg-popup"><h4>热点网格 第 ' + p.rank + " 名</h4><table>" +
              row("得分", "<b class='cg-num'>" + esc(p.score) + "</b>") +
              row("问题总数", esc(p.count)) +
              row("未结", esc(p.open)) +
              row(lab("actions", "overdue"), "<b class='cg-num cg-overdue'>" + esc(p.overdue) + "</b>") +
              row(lab("actions", "recurrence"), esc(p.recurrences)) +
              row("主要类别", esc(p.top_category_name)) +
              row("所在片区", esc(p.community_name)) +
              "</table><div class='cg-code'>H3 " + esc(p.cell) + "</div></div>"
          );
        },
      });
      hexGroup.addLayer(gj);
      state.hexCount = (fc.features || []).length;
      state.hotspots = fc.hotspots || [];
      var list = document.getElementById("cg-hotspots");
      list.innerHTML = (fc.hotspots || [])
        .map(function (h) {
          return (
            '<li data-cell="' + esc(h.cell) + '"><div class="cg-hs-head"><b>' + esc(h.community_name || "（未入网格）") + "</b>" +
            '<span class="cg-score">' + esc(h.score) + "</span></div><div class='cg-muted'>" + esc(h.top_category_name || "") +
            " · 未结 " + h.open + " · 反弹 " + h.recurrences + (h.overdue ? " · <span class='cg-overdue'>超期 " + h.overdue + "</span>" : "") + "</div></li>"
          );
        })
        .join("") || "<li class='cg-muted'>时间窗口内没有问题</li>";
      var st = document.getElementById("cg-heat-status");
      st.innerHTML =
        (fc.window ? esc(fc.window.from) + " 至 " + esc(fc.window.to) + "：" : "") +
        "<b id='cg-hex-issues'>" + (fc.issues || 0) + "</b> 个问题，<b id='cg-hex-count'>" + state.hexCount + "</b> 个网格（H3 " + fc.res + " 级）";
    }
    function renderDensity(d) {
      heatGroup.clearLayers();
      if (!L.heatLayer || !d || !d.points) return;
      var layer = L.heatLayer(d.points, { radius: 22, blur: 18, max: d.max || 1, minOpacity: 0.3 });
      heatGroup.addLayer(layer);
      state.densityPoints = d.points.length;
    }
    function load() {
      var p = params();
      var jobs = [];
      if (cfg.hexbins.data) renderHex(cfg.hexbins.data);
      else {
        state.lastHexUrl = withParams(cfg.hexbins.url, p);
        jobs.push(getJSON(state.lastHexUrl).then(renderHex));
      }
      if (cfg.density) {
        if (cfg.density.data) renderDensity(cfg.density.data);
        else if (map.hasLayer(heatGroup) || !ctx.densityLoaded) {
          var dp = Object.assign({}, p);
          if (dp.res) dp.res = Math.min(Number(dp.res) + 2, 13);
          ctx.densityLoaded = true;
          jobs.push(getJSON(withParams(cfg.density.url, dp)).then(renderDensity));
        }
      }
      return Promise.all(jobs);
    }
    cg.reloadHeat = load;
    document.getElementById("cg-hotspots").addEventListener("click", function (e) {
      var li = e.target instanceof Element && e.target.closest("li[data-cell]");
      if (!li) return;
      var lyr = hexIndex[li.getAttribute("data-cell")];
      if (lyr) {
        map.fitBounds(lyr.getBounds(), { maxZoom: 16 });
        lyr.openPopup();
      }
    });
    document.getElementById("cg-h-days").addEventListener("change", function () {
      document.getElementById("cg-h-custom").hidden = this.value !== "custom";
    });
    document.getElementById("cg-h-apply").addEventListener("click", load);
    ["cg-h-category", "cg-h-source", "cg-h-res"].forEach(function (id) {
      document.getElementById(id).addEventListener("change", load);
    });
    var lastZoom = Math.floor(map.getZoom());
    map.on("zoomend", function () {
      var z = Math.floor(map.getZoom());
      if (!document.getElementById("cg-h-res").value && z !== lastZoom) {
        lastZoom = z;
        if (cfg.hexbins.url) load();
      }
    });
    map.on("overlayadd", function (e) {
      if (e.layer === heatGroup && cfg.density && cfg.density.url) load();
    });
    var extra = { "H3 六边形热点": hexGroup };
    if (cfg.density) extra["密度热力"] = heatGroup;
    layerControl(map, ctx, extra);
    legendControl(map, cfg, ctx, "heat");
    cg.ctx = ctx;
    return finish(Promise.all([b.ready, load().catch(function () {})]));
  };
})();

// The leader map's "考核得分（本月）" table (maps/scoring_pages.py leader_dashboard_loader):
// loaded from the API here, not by an inline script (the pages run under a strict CSP).
// The box carries the dashboard URL and the tier labels in data attributes.
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
