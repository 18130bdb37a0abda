// App-wide behaviour: register the service worker; let htmx swap the error pages our
// server renders for 4xx answers (they carry a message the auditor must see).
(function () {
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
    banner.textContent = (banner.getAttribute("data-text") || "{time}").replace("{time}", text);
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
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 422 || status === 409 || status === 400 || status === 403) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
})();
