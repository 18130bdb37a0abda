// Pages kept on the phone for use without a network (the worker's "pages" cache). An element
// with data-keep-offline='["/url", ...]' asks the worker, when the page is online, to fetch
// those pages now and keep them: today's page lists each of today's and tomorrow's plans'
// check-in, check-out, plan and explanation pages; a check-in or check-out just signed lists
// its plan's pages again, so the copies show it. When the outbox has sent something, the kept
// today and plan pages are fetched again. KeptPages.forget() empties them: logout calls it.
(function () {
  "use strict";
  // The worker's name for it (service-worker.js): under a sub-path, it carries the path.
  var root = document.documentElement.getAttribute("data-root") || "/";
  var PAGES_CACHE = (root === "/" ? "" : root) + "pages";
  var sw = navigator.serviceWorker;

  // Resolves with the worker's answer ({kept, asked} or {forgotten}); null without a worker.
  function ask(message) {
    if (!sw) return Promise.resolve(null);
    return sw.ready.then(function (registration) {
      return new Promise(function (resolve) {
        var channel = new MessageChannel();
        channel.port1.onmessage = function (event) { resolve(event.data); };
        registration.active.postMessage(message, [channel.port2]);
      });
    }).catch(function () { return null; });
  }

  function offlineCopy() { return document.documentElement.hasAttribute("data-offline-copy"); }

  // The status line (today's page) says once every listed page is on the phone. `loaded`: this
  // page ({url, since}: when it was asked for), when the worker fetched and kept it as it
  // loaded (the worker takes that copy instead of fetching the page again).
  function keep(el, loaded) {
    if (el.hasAttribute("data-keep-asked")) return Promise.resolve(null);
    var urls;
    try { urls = JSON.parse(el.getAttribute("data-keep-offline") || "[]"); } catch (e) { urls = []; }
    if (!urls.length || offlineCopy() || navigator.onLine === false) return Promise.resolve(null);
    el.setAttribute("data-keep-asked", "");
    return ask({ type: "keep", urls: urls, loaded: loaded || null }).then(function (answer) {
      var line = document.getElementById("offline-ready");
      if (answer) el.setAttribute("data-kept", answer.kept + "/" + answer.asked);
      if (answer && line && answer.kept === answer.asked) {
        var now = new Date();
        var pad = function (n) { return (n < 10 ? "0" : "") + n; };
        line.textContent = window.CheckinWords.fill(line.getAttribute("data-text") || "{time}",
                                                    { time: pad(now.getHours()) + ":" + pad(now.getMinutes()) });
        line.hidden = false;
      }
      return answer;
    });
  }

  function keepWithin(root, loaded) {
    var each = function (el) { keep(el, loaded); };
    if (root.matches && root.matches("[data-keep-offline]")) each(root);
    if (root.querySelectorAll) root.querySelectorAll("[data-keep-offline]").forEach(each);
  }

  var KeptPages = {
    keep: keepWithin,
    refresh: function () { return navigator.onLine === false ? Promise.resolve(null) : ask({ type: "refresh" }); },
    // Empty this auditor's kept pages (also without a worker in control).
    forget: function () {
      var deleted = window.caches ? caches.delete(PAGES_CACHE).catch(function () { return false; }) : Promise.resolve(false);
      return Promise.all([deleted, ask({ type: "forget" })]);
    }
  };
  window.KeptPages = KeptPages;

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches && form.matches("form[action$='/logout']") && !event.defaultPrevented) KeptPages.forget();
  });
  // A swapped-in list (a check-in just signed); each list is sent once.
  document.addEventListener("htmx:afterSettle", function () { keepWithin(document); });
  if (window.Outbox && window.Outbox.listen) {
    window.Outbox.listen(function (message) {
      if (message && message.type === "replayed" && message.summary && message.summary.sent) KeptPages.refresh();
    });
  }
  // After the page's own load: what the auditor opened comes first.
  // A page the worker controls came through it from the network (a copy it served offline
  // asks for nothing): it kept it then.
  function start() {
    keepWithin(document, sw && sw.controller ? { url: location.href, since: Math.floor(performance.timeOrigin) } : null);
  }
  if (document.readyState === "complete") start();
  else window.addEventListener("load", start, { once: true });
})();
