// App-wide behaviour: register the service worker; let htmx swap the error pages our
// server renders for 4xx answers (they carry a message the auditor must see).
(function () {
  // A message the server rendered with {name} placeholders (a data-msg-* attribute), its
  // values filled in: every script puts its numbers into its words this one way.
  window.CheckinWords = Object.freeze({
    fill: function (text, values) {
      return Object.keys(values || {}).reduce(function (said, name) {
        return said.split("{" + name + "}").join(String(values[name]));
      }, String(text == null ? "" : text));
    }
  });
  if ("serviceWorker" in navigator) {
    // At the app's root: the site's, or the sub-path the app is mounted under (base.html).
    var root = document.documentElement.getAttribute("data-root") || "/";
    navigator.serviceWorker.register(root + "service-worker.js", { scope: root }).catch(function () {});
    // A page that loaded while the worker installed is left uncontrolled by clients.claim()
    // on activate: ask the active worker to claim it, so it works offline without a reload.
    navigator.serviceWorker.ready.then(function (registration) {
      if (!navigator.serviceWorker.controller && registration.active) registration.active.postMessage("claim");
    });
  }
  // The service worker marks a page it served from its last good copy (no network) with
  // data-offline-copy="<ISO time it was loaded>" on <html>: say so, with that time.
  function showOfflineCopy() {
    var cachedAt = document.documentElement.getAttribute("data-offline-copy");
    var banner = document.getElementById("offline-banner");
    if (cachedAt === null || !banner) return;
    var when = new Date(cachedAt);
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    var text = isNaN(when.getTime()) ? "?" :
      (when.toDateString() === new Date().toDateString() ? "" : (when.getMonth() + 1) + "-" + pad(when.getDate()) + " ")
      + pad(when.getHours()) + ":" + pad(when.getMinutes());
    banner.textContent = window.CheckinWords.fill(banner.getAttribute("data-text") || "{time}", { time: text });
    banner.hidden = false;
  }
  // The network is back: the banner goes (the outbox sends what waited and says what came of it).
  window.addEventListener("online", function () {
    var banner = document.getElementById("offline-banner");
    if (banner) banner.hidden = true;
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showOfflineCopy);
  } else {
    showOfflineCopy();
  }
  // Map code is named by the map's element (data-map-code: its stylesheets and scripts, in
  // order), not by the page's own tags: the service worker keeps a page's tags for offline,
  // and a map has no tiles offline, so the code comes when a page with a map opens online
  // (then the worker keeps it too). Loaded at most once per page; MapCode.ready(el) resolves
  // true once everything ran, false if something could not load (offline, never fetched).
  var loading = {};
  function load(url) {
    if (!loading[url]) {
      loading[url] = new Promise(function (resolve) {
        var css = /\.css(\?|$)/.test(url);
        var tag = document.createElement(css ? "link" : "script");
        if (css) { tag.rel = "stylesheet"; tag.href = url; } else { tag.src = url; tag.async = false; }
        tag.onload = function () { resolve(true); };
        tag.onerror = function () { resolve(false); };
        document.head.appendChild(tag);
      });
    }
    return loading[url];
  }
  window.MapCode = {
    ready: function (el) {
      var urls;
      try { urls = JSON.parse(el.getAttribute("data-map-code") || "[]"); } catch (e) { urls = []; }
      // One after the other: Leaflet finds its marker images through its stylesheet.
      return urls.reduce(function (all, url) {
        return all.then(function (ok) { return ok && load(url); });
      }, Promise.resolve(true));
    }
  };
  function loadMaps() { document.querySelectorAll("[data-map-code]").forEach(window.MapCode.ready); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", loadMaps);
  else loadMaps();
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409 || status === 400 || status === 403) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
