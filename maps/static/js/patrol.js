/*
 * civgrid patrol page (巡查): loads /api/v1/patrol/map and draws the plan's visits,
 * a team's route of the day, GPS tracks, road sections covered (green) or missed (red)
 * and unit grids entered or missed. WGS84 GeoJSON on the offline basemap.
 *
 * Township and community boundaries are drawn with their names; the route's stops are
 * numbered markers, and the stop list opens each stop (its target) on the map; a team's
 * route of a day can be downloaded as GPX (GET /api/v1/patrol/routes?format=gpx).
 *
 * Test hooks: window.civgrid.patrol (ready, error, counts, boundaries, stops, openStop).
 */
(function () {
  "use strict";

  var cg = (window.civgrid = window.civgrid || {});
  var st = (cg.patrol = { ready: false, error: null, counts: {}, boundaries: {}, stops: [] });
  var BOUNDARIES = [
    ["township", "乡镇/街道界", "#4e342e", 2.5, null],
    ["community", "社区/行政村界", "#8d6e63", 1.2, "4 3"],
  ];

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(
      function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      }
    );
  }

  function esc(v) {
    if (v === null || v === undefined) return "";
    return String(v)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;");
  }

  function fmtKm(m) {
    return (m / 1000).toFixed(1) + " km";
  }

  cg.initPatrolMap = function (map, cfg) {
    document.body.classList.add("cg-page", "cg-page-patrol");
    map.invalidateSize();
    var params = new URLSearchParams({ month: cfg.month });
    if (cfg.team) params.set("team", cfg.team);
    if (cfg.day) params.set("date", cfg.day);
    var summary = document.getElementById("cg-patrol-summary");
    var layers = BOUNDARIES.map(function (b) {
      return getJSON(cfg.api + "/layers/" + b[0] + ".geojson").catch(function () {
        return null; // boundaries are a backdrop: the page works without them
      });
    });
    Promise.all([getJSON(cfg.api + "/patrol/map?" + params.toString())].concat(layers))
      .then(function (all) {
        draw(map, cfg, all[0], summary, all.slice(1));
      })
      .catch(function (e) {
        st.error = String(e);
        if (summary) summary.textContent = "加载失败：" + st.error;
        st.ready = true;
      });
  };

  function drawBoundaries(map, overlays, collections) {
    BOUNDARIES.forEach(function (b, i) {
      var fc = collections[i];
      if (!fc) return;
      var layer = L.geoJSON(fc, {
        interactive: false,
        style: { color: b[2], weight: b[3], fill: false, dashArray: b[4] },
        onEachFeature: function (f, l) {
          l.bindTooltip(esc(f.properties.name || f.properties.code), {
            permanent: true,
            direction: "center",
            className: "cg-plabel cg-plabel-" + b[0],
          });
        },
      }).addTo(map);
      overlays[b[1]] = layer;
      st.boundaries[b[0]] = fc.features.length;
    });
  }

  function stopPopup(cfg, p) {
    return (
      "<b>第" + esc(p.seq) + "站</b> " + esc(cfg.kindLabels[p.kind] || p.kind) + "<br>" +
      "<b>" + esc(p.target_name || p.target_code) + "</b> <small>" + esc(p.target_code) + "</small>" +
      (p.visit_id ? "<br><small>走访编号 " + esc(p.visit_id) + "</small>" : "")
    );
  }

  function drawStops(map, cfg, data, overlays) {
    var layer = L.geoJSON(data.route, {
      filter: function (f) {
        return f.geometry.type === "Point";
      },
      pointToLayer: function (f, latlng) {
        var m = L.marker(latlng, {
          icon: L.divIcon({ className: "cg-stop", html: String(f.properties.seq), iconSize: [22, 22] }),
          title: "第" + f.properties.seq + "站 " + (f.properties.target_name || ""),
        });
        m.bindPopup(stopPopup(cfg, f.properties));
        st.stops.push({ seq: f.properties.seq, marker: m, target: f.properties.target_name, code: f.properties.target_code });
        return m;
      },
    }).addTo(map);
    overlays["路线站点"] = layer;
  }

  st.openStop = function (seq) {
    var s = st.stops.filter(function (x) { return x.seq === seq; })[0];
    if (!s) return false;
    s.marker._map.setView(s.marker.getLatLng(), Math.max(s.marker._map.getZoom(), 16));
    s.marker.openPopup();
    return true;
  };

  function draw(map, cfg, data, summary, boundaries) {
    var overlays = {};
    var bounds = L.latLngBounds([]);
    drawBoundaries(map, overlays, boundaries || []);

    var grids = L.geoJSON(data.unit_grids, {
      style: function (f) {
        var ok = f.properties.entered;
        return {
          color: ok ? cfg.coveredColor : cfg.missedColor,
          weight: 1,
          fillOpacity: ok ? 0.25 : 0.08,
        };
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(
          esc(f.properties.name) + "（" + (f.properties.entered ? "已进入" : "未进入") + "）"
        );
      },
    }).addTo(map);
    overlays["单元网格（进入/未进入）"] = grids;

    var roads = L.geoJSON(data.road_sections, {
      style: function (f) {
        return {
          color: f.properties.covered ? cfg.coveredColor : cfg.missedColor,
          weight: 5,
          opacity: 0.85,
        };
      },
      onEachFeature: function (f, layer) {
        layer.bindTooltip(
          esc(f.properties.name) +
            "：覆盖 " +
            Math.round((f.properties.share || 0) * 100) +
            "%"
        );
      },
    }).addTo(map);
    overlays["路段覆盖"] = roads;

    var tracks = L.geoJSON(data.tracks, {
      style: { color: cfg.trackColor, weight: 3, dashArray: "6 4" },
    }).addTo(map);
    overlays[cfg.legendLabels.track] = tracks;

    var visits = L.geoJSON(data.visits, {
      pointToLayer: function (f, latlng) {
        return L.circleMarker(latlng, {
          radius: 6,
          color: "#fff",
          weight: 1,
          fillColor: cfg.kindColors[f.properties.kind] || "#555",
          fillOpacity: 0.9,
        });
      },
      onEachFeature: function (f, layer) {
        var p = f.properties;
        layer.bindPopup(
          "<b>" + esc(p.kind_label) + "</b> " + esc(p.target_name || p.target_code) +
            " <small>" + esc(p.target_code) + "</small><br>" +
            esc(p.team) + " · " + esc(p.day) + " · 第" + esc(p.seq) + "站<br>" +
            "<small>" + (p.reasons || []).map(esc).join("；") + "</small>"
        );
      },
    }).addTo(map);
    overlays["计划走访"] = visits;

    var routeList = document.getElementById("cg-patrol-route");
    if (data.route) {
      var route = L.geoJSON(data.route, {
        style: { color: cfg.routeColor, weight: 4 },
        filter: function (f) {
          return f.geometry.type === "LineString";
        },
      }).addTo(map);
      overlays[cfg.legendLabels.route] = route;
      var path = data.route.features[0];
      bounds.extend(route.getBounds());
      drawStops(map, cfg, data, overlays);
      if (routeList) {
        routeList.innerHTML = data.route.features
          .slice(1)
          .map(function (f) {
            // a visit marked done (from the phone: /m/day) is shown as done
            var done = data.visits.features.some(function (v) {
              return v.properties.id === f.properties.visit_id && v.properties.status === "done";
            });
            return "<li" + (done ? ' class="cg-visit-done"' : "") + '><a href="#" class="cg-stop-link" data-seq="' +
              esc(f.properties.seq) + '">' +
              esc(f.properties.target_name || f.properties.target_code) + "</a> " +
              esc(cfg.kindLabels[f.properties.kind] || f.properties.kind) +
              (done ? " ✓已完成" : "") + "</li>";
          })
          .join("");
        var gpx = cfg.api + "/patrol/routes?" + new URLSearchParams({ team: cfg.team, date: cfg.day, format: "gpx" });
        routeList.insertAdjacentHTML(
          "beforebegin",
          '<p id="cg-route-total">当日路线 ' + fmtKm(path.properties.total_m) +
            ' · <a id="cg-route-gpx" href="' + esc(gpx) + '" download>下载路线（GPX）</a></p>'
        );
        routeList.addEventListener("click", function (e) {
          var a = e.target.closest && e.target.closest(".cg-stop-link");
          if (!a) return;
          e.preventDefault();
          st.openStop(Number(a.getAttribute("data-seq")));
        });
      }
    }
    L.control.layers(null, overlays, { collapsed: false, position: "topright" }).addTo(map);

    [grids, roads, tracks, visits].forEach(function (l) {
      if (l.getLayers().length) bounds.extend(l.getBounds());
    });
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20] });

    var rows = Object.keys(data.summary || {})
      .sort()
      .map(function (k) {
        var s = data.summary[k];
        return "<tr><td>" + esc(k) + "</td><td>" + s.visited + "/" + s.visits + "</td><td>" +
          s.roads_covered + "/" + s.roads_total + "</td><td>" + s.grids_entered + "/" +
          s.grids_total + "</td><td>" + s.gaps + "</td></tr>";
      })
      .join("");
    if (summary) {
      summary.innerHTML =
        (data.plan ? "" : "<p>本月尚无巡查计划。</p>") +
        "<table><tr><th>" + (cfg.teamLabel || "") + "</th><th>已走访/计划</th><th>路段覆盖</th>" +
        "<th>网格进入</th><th>遗漏</th></tr>" + rows + "</table>";
    }
    st.counts = {
      visits: data.visits.features.length,
      tracks: data.tracks.features.length,
      roads: data.road_sections.features.length,
      roadsCovered: data.road_sections.features.filter(function (f) {
        return f.properties.covered;
      }).length,
      grids: data.unit_grids.features.length,
      gridsEntered: data.unit_grids.features.filter(function (f) {
        return f.properties.entered;
      }).length,
      routeStops: data.route ? data.route.features.length - 1 : 0,
    };
    st.ready = true;
  }
})();
