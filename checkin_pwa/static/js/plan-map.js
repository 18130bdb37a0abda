// The plan page's small map (R9): the planned sites and the points the team signed at, on
// the same tiles as the check-in map (TILE_URL / TILE_DATUM from the server's config, through
// data- attributes; GCJ-02 drawing by datum.js). Read only: nothing here is sent anywhere.
// The page writes the same coordinates and distances as text, so it reads without tiles.
(function () {
  "use strict";
  var el = document.getElementById("plan-map");
  if (!el || !window.L) return;
  var data = el.dataset;
  var datum = data.datum === "gcj02" && window.CheckinDatum ? window.CheckinDatum : null;
  function toMap(lat, lon) { return datum ? datum.wgs84ToGcj02(lat, lon) : [lat, lon]; }
  function parse(text) { try { return JSON.parse(text || "[]"); } catch (e) { return []; } }

  var map = L.map(el, { attributionControl: Boolean(data.tileUrl), scrollWheelZoom: false });
  if (map.attributionControl) map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  if (data.tileUrl) {
    // Tiles out of reach (no signal, a blocked server): the page says so and its text stands in.
    L.tileLayer(data.tileUrl, { attribution: data.tileAttribution, maxZoom: 19 })
      .on("tileerror", function () { el.dataset.tiles = "failed"; })
      .addTo(map);
  }
  var bounds = [];
  var sites = parse(data.sites);
  sites.forEach(function (site) {
    var at = toMap(site.lat, site.lon);
    bounds.push(at);
    L.circleMarker(at, { radius: 9, color: "#d1242f", weight: 3, fillOpacity: 0.6, className: "site-marker" })
      .bindTooltip(document.createTextNode(site.address)).addTo(map);
  });
  var points = parse(data.points);
  points.forEach(function (point) {
    var at = toMap(point.lat, point.lon);
    bounds.push(at);
    var label = point.kind === "out" ? data.msgOut : data.msgIn;
    L.circleMarker(at, { radius: 7, color: "#fff", weight: 2, fillColor: point.team ? "#1f6feb" : "#8250df",
                         fillOpacity: 1, className: "point-marker point-" + point.kind })
      .bindTooltip(document.createTextNode(label)).addTo(map);
  });
  if (bounds.length > 1) map.fitBounds(bounds, { padding: [24, 24], maxZoom: 15, animate: false });
  else if (bounds.length === 1) map.setView(bounds[0], 14);
  else map.setView([35.0, 105.0], 4);
  el.dataset.sitesDrawn = String(sites.length);
  el.dataset.pointsDrawn = String(points.length);
  el.dataset.ready = "1";
})();
