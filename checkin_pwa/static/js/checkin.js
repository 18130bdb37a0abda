// The check-in / check-out map (R5). It opens at the phone's position, draws the planned
// sites and a 2 km circle, and lets the auditor drag the pin inside the circle. Only a drag
// moves it: a stray tap on the map leaves it where it is. A moved pin says how far it is from
// the phone and offers to put it back. On a touch screen one finger scrolls the page (the map
// is moved and zoomed with two), so the page never gets stuck on the map.
// Everything it needs comes in data- attributes of #map. Positions sent are WGS-84;
// GCJ-02 tiles (AMap, Tencent) only change where things are drawn (datum.js).
// The server re-checks everything with geodesics: this is guidance, not the guard.
// The map itself (Leaflet) is loaded by app.js from #map's data-map-code. A page kept for
// offline and opened without a network before any map was loaded online signs without one:
// no tiles would show anyway, the check-in point is the phone's position, and the box says so.
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el) return;
  var data = el.dataset;
  // Leaflet measures on a sphere, the server on the ellipsoid: stay 10 m inside the limit.
  var limit = (parseFloat(data.limitM) || 2000) - 10;
  var datum = data.datum === "gcj02" && window.CheckinDatum ? window.CheckinDatum : null;
  var statusLine = document.getElementById("geo-status");
  var relocate = document.getElementById("relocate");

  function toMap(lat, lon) { return datum ? datum.wgs84ToGcj02(lat, lon) : [lat, lon]; }
  function fromMap(latlng) { return datum ? datum.gcj02ToWgs84(latlng.lat, latlng.lng) : [latlng.lat, latlng.lng]; }

  var moved = document.getElementById("pin-moved");
  var movedText = document.getElementById("pin-moved-distance");
  var map = null;

  function drawMap() {
    var touchScreen = Boolean(L.Browser.mobile);
    // One-finger dragging off on phones: the page scrolls past the map. Two fingers still pan
    // and zoom (Leaflet's pinch follows the fingers' midpoint).
    map = L.map(el, { attributionControl: Boolean(data.tileUrl), dragging: !touchScreen });
    var hint = document.getElementById("map-hint");
    if (hint && touchScreen) hint.hidden = false;
    if (map.attributionControl) map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
    if (data.tileUrl) {
      L.tileLayer(data.tileUrl, { attribution: data.tileAttribution, maxZoom: 19 }).addTo(map);
    }
    var sites = [];
    try { sites = JSON.parse(data.sites || "[]"); } catch (e) { sites = []; }
    sites.forEach(function (site) {
      L.circleMarker(toMap(site.lat, site.lon),
                     { radius: 9, color: "#d1242f", weight: 3, fillOpacity: 0.6, className: "site-marker" })
        .bindTooltip(document.createTextNode(site.address)).addTo(map);
    });
    if (sites.length) map.setView(toMap(sites[0].lat, sites[0].lon), 13);
    else map.setView([35.0, 105.0], 4);
    if (fix) drawFix();
  }

  function noMap() {
    el.classList.add("map-absent");
    el.textContent = data.msgNoMap || "";
  }

  // What will be sent: device position, accuracy, fix time, and the pin (all WGS-84).
  var fix = null;
  var circle = null, here = null, pin = null;

  function say(text, isError) {
    statusLine.textContent = text;
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function fillForm() {
    var form = document.querySelector("form[data-check-form]");
    el.dataset.pinLat = fix ? fix.pin[0] : "";
    el.dataset.pinLon = fix ? fix.pin[1] : "";
    if (!form) return;
    var values = fix ? {
      device_lat: fix.lat, device_lon: fix.lon, device_accuracy: fix.accuracy,
      device_position_time: fix.time, lat: fix.pin[0], lon: fix.pin[1]
    } : { device_lat: "", device_lon: "", device_accuracy: "", device_position_time: "", lat: "", lon: "" };
    Object.keys(values).forEach(function (name) {
      var input = form.elements.namedItem(name);
      if (input) input.value = values[name];
    });
    // data-closed: not allowed now by the rules on the phone's clock (plan-rules.js).
    var closed = form.hasAttribute("data-closed");
    form.querySelectorAll("[data-needs-position]").forEach(function (button) { button.disabled = !fix || closed; });
  }

  // "Moved N m" under the map while the pin is off the phone's position.
  function showMoved() {
    if (!moved) return;
    // Without a map the pin is the phone's position.
    var metres = fix && map ? Math.round(L.latLng(fix.lat, fix.lon).distanceTo(L.latLng(fix.pin[0], fix.pin[1]))) : 0;
    moved.hidden = metres < 1;
    if (movedText) movedText.textContent = window.CheckinWords.fill(data.msgMoved || "{m}", { m: metres });
  }

  // Keep a dragged point inside the circle, on the line from its centre.
  function clamp(latlng) {
    var centre = circle.getLatLng();
    var d = map.distance(centre, latlng);
    if (d <= limit) return latlng;
    var k = limit / d;
    return L.latLng(centre.lat + (latlng.lat - centre.lat) * k, centre.lng + (latlng.lng - centre.lng) * k);
  }

  function placePin(latlng) {
    var inside = clamp(latlng);
    pin.setLatLng(inside);
    fix.pin = fromMap(inside);
    fillForm();
    showMoved();
  }

  function restorePin() {
    if (!fix || !pin) return;
    var centre = circle.getLatLng();
    pin.setLatLng(centre);
    fix.pin = [fix.lat, fix.lon];
    if (!map.getBounds().contains(centre)) map.panTo(centre, { animate: false });
    fillForm();
    showMoved();
  }

  // The circle, the phone's dot and the pin at the fix (the pin back on the phone's position).
  function drawFix() {
    var centre = toMap(fix.lat, fix.lon);
    if (!circle) {
      // Not interactive: the circle and the phone's dot take no taps (a tap moves nothing).
      circle = L.circle(centre, { radius: 2000, color: "#1f6feb", weight: 2, fillOpacity: 0.06, interactive: false }).addTo(map);
      here = L.circleMarker(centre, { radius: 7, color: "#fff", weight: 2, fillColor: "#1f6feb", fillOpacity: 1,
                                      interactive: false }).addTo(map);
      pin = L.marker(centre, { draggable: true, autoPan: true, title: "pin" }).addTo(map);
      pin.on("drag", function () { pin.setLatLng(clamp(pin.getLatLng())); });
      pin.on("dragend", function () { placePin(pin.getLatLng()); });
    } else {
      circle.setLatLng(centre);
      here.setLatLng(centre);
      pin.setLatLng(centre);
    }
    map.fitBounds(circle.getBounds(), { animate: false });  // in place before "ready"
  }

  function located(position) {
    var c = position.coords;
    fix = { lat: c.latitude, lon: c.longitude, accuracy: c.accuracy, time: Math.round(position.timestamp),
            pin: [c.latitude, c.longitude] };
    if (map) drawFix();
    el.dataset.geo = "ready";
    say(window.CheckinWords.fill(map ? data.msgAccuracy : data.msgAccuracyNoMap || data.msgAccuracy,
                                { m: Math.round(c.accuracy) }), false);
    fillForm();
    showMoved();
  }

  function failed(error) {
    fix = null;
    el.dataset.geo = "error";
    var messages = { 1: data.msgDenied, 2: data.msgUnavailable, 3: data.msgTimeout };
    say(messages[error && error.code] || data.msgUnavailable, true);
    fillForm();
    showMoved();
  }

  var asked = false;  // a tap on the button came before the map
  function locate() {
    asked = true;
    if (!navigator.geolocation) {
      el.dataset.geo = "error";
      say(data.msgUnsupported, true);
      relocate.hidden = true;
      return;
    }
    el.dataset.geo = "locating";
    say(data.msgLocating, false);
    if (data.msgAgain) relocate.textContent = data.msgAgain;
    navigator.geolocation.getCurrentPosition(located, failed,
      { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
  }

  relocate.addEventListener("click", locate);
  var restore = document.getElementById("pin-restore");
  if (restore) restore.addEventListener("click", restorePin);

  // The phone's clock at the moment of sending: evidence only, the server keeps its own.
  // Capture phase, so the value is in place before htmx reads the form.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form[data-check-form]")) return;
    var clock = form.elements.namedItem("device_time");
    if (clock) clock.value = String(Date.now());
    // The action's idempotency key is made here, on the phone, before its first send: a send
    // that reached the server but whose answer was lost is then written once (outbox, R17).
    // A new key for a changed payload (a new pin, the confirm step), the same one otherwise.
    var key = form.elements.namedItem("idempotency_key");
    var payload = payloadOf(form);
    if (key && window.Outbox && form.dataset.keyedPayload !== payload) {
      key.value = window.Outbox.newKey();
      form.dataset.keyedPayload = payload;
    }
  }, true);

  // --- The outbox (R17): offline, or when the send fails, the action is kept on the phone --
  function payloadOf(form) {
    var parts = [];
    new FormData(form).forEach(function (value, name) {
      if (name !== "device_time" && name !== "idempotency_key" && name !== "csrf_token") parts.push(name + "=" + value);
    });
    return parts.join("&");
  }

  // `neverSent`: caught before it left. After a failed send the payload stays exactly as
  // sent (the server may have it: the same key must come with the same payload).
  // `said`: what to tell the auditor instead of the usual "saved" (a slow network).
  function queue(form, neverSent, said) {
    var box = document.getElementById("check-form");
    if (!window.Outbox || !box || box.dataset.queued) return;
    box.dataset.queued = "1";
    var fields = [];
    new FormData(form).forEach(function (value, name) { fields.push([name, value]); });
    // Offline there is no server to warn about a far pin: the auditor acted, the server
    // still records the deviation (R5).
    if (neverSent && !form.elements.namedItem("confirm")) fields.push(["confirm", "1"]);
    var value = function (name) { var input = form.elements.namedItem(name); return input ? input.value : ""; };
    var kind = /checkout$/.test(form.getAttribute("action") || "") ? "checkout" : "checkin";
    var words = document.getElementById("outbox-badge") ? document.getElementById("outbox-badge").dataset : {};
    var card = document.querySelector("#check .task-card");
    var what = [words[kind === "checkin" ? "msgCheckin" : "msgCheckout"] || kind];
    if (card) {
      [".enterprise", ".project"].forEach(function (selector) {
        var el = card.querySelector(selector);
        if (el) what.push(el.textContent.replace(/\s+/g, " ").trim());
      });
    }
    box.dataset.outboxKey = value("idempotency_key") || window.Outbox.newKey();
    window.Outbox.add({
      key: box.dataset.outboxKey, kind: kind, url: form.getAttribute("action"),
      fields: fields, label: what.join(" · "), device_time: parseInt(value("device_time"), 10) || Date.now(),
      position: { lat: value("device_lat"), lon: value("device_lon"), accuracy: value("device_accuracy"),
                  time: value("device_position_time"), pin_lat: value("lat"), pin_lon: value("lon") }
    }).then(function () {
      var outcome = document.createElement("div");
      outcome.id = "check-outcome";
      outcome.className = "outcome outcome-queued";
      outcome.setAttribute("role", "status");
      var title = document.createElement("p");
      title.className = "outcome-title";
      title.textContent = said || words.msgSaved || "已保存，联网后自动发送";
      var link = document.createElement("a");
      link.href = document.getElementById("outbox-badge") ? document.getElementById("outbox-badge").getAttribute("href") : (document.documentElement.getAttribute("data-root") || "/") + "outbox";
      link.className = "button secondary block";
      link.textContent = words.msgSee || "查看待发送";
      outcome.append(title, link);
      box.replaceChildren(outcome);
    }, function () { delete box.dataset.queued; });
  }

  // Sent later while this page is still open: show the server's answer in place.
  if (window.Outbox) {
    window.Outbox.listen(function (message) {
      var box = document.getElementById("check-form");
      var form = document.querySelector("form[data-check-form]");
      var key = box && box.dataset.queued ? box.dataset.outboxKey : form && form.elements.namedItem("idempotency_key").value;
      if (!box || !message || message.key !== key || message.type !== "sent" || !message.text) return;
      var fresh = new DOMParser().parseFromString(message.text, "text/html").getElementById("check-form");
      if (fresh) box.replaceWith(fresh);
    });
  }

  if (window.Outbox) window.Outbox.keepUnsent("form[data-check-form]", queue);

  // htmx swaps the form's container (a warning to confirm, an error): refill the new one.
  document.addEventListener("htmx:afterSettle", fillForm);
  document.addEventListener("plan-rules:change", fillForm);

  // The position is asked for on a tap, never as the page opens (a prompt nobody asked for
  // gets dismissed, and then signing is blocked): where the browser already allows it (or
  // refuses it), it is read (or the refusal shown) at once; otherwise the button waits.
  function waitForTap() {
    el.dataset.geo = "waiting";
    say(data.msgTap, false);
  }
  function start() {
    if (navigator.geolocation && navigator.permissions && navigator.permissions.query) {
      navigator.permissions.query({ name: "geolocation" })
        .then(function (status) { if (status.state === "prompt") waitForTap(); else locate(); }, waitForTap);
    } else if (navigator.geolocation) {
      waitForTap();
    } else {
      locate();
    }
  }
  // The map first (a fix found meanwhile is drawn when it comes), then the position.
  var mapCode = window.MapCode ? window.MapCode.ready(el) : Promise.resolve(Boolean(window.L));
  mapCode.then(function (loaded) {
    if (loaded && window.L) drawMap();
    else noMap();
    if (!asked) start();
  });
})();
