// ---- App shell: precache, pages network-first, offline page ---------
// Static files: precached at install into "static-<fingerprint>", then served cache-first.
// The fingerprint is a hash of the static folder and the offline page that the server writes
// into this file when it serves it (blueprints/pwa/routes.py), so any deploy that changes a
// precached file changes the worker's bytes: the browser installs the new worker, which fills
// a new cache, and on activate deletes every other "static-*" cache. Nobody bumps a number by
// hand; a change to this file's logic alone keeps the cache (its contents did not change).
//
// Pages (GET navigations): network-first. Each 200 answer of a page that is not a login,
// error or redirect is kept per URL in the "pages" cache with the time it was loaded; without
// a network the last good copy is served with data-offline-copy="<ISO time>" on its <html>
// element, and app.js shows the banner "离线：显示的是上次加载的内容（时间）". A page never
// loaded gets the precached offline page. Logging in or out empties "pages", so one person's
// pages are never shown to the next. Photos, /api/ and every POST go to the network untouched.
//
// Paths below are the app's own ("/offline"); the app may be mounted under a sub-path of the
// site (/checkin/). This script is served from the app's root, so its folder is that root.
var STATIC_FINGERPRINT = "__STATIC_FINGERPRINT__";
// The version each static file named here has in the app's URLs ("?v=<start of its content
// hash>", static_files.py), written in by the server as the fingerprint is. A versioned URL
// is kept by the browser's HTTP cache without asking again, so fetching the one the page has
// just loaded costs no request on the network.
var STATIC_VERSIONS = "__STATIC_VERSIONS__";
var ROOT = new URL("./", self.location.href).pathname;
// A site's caches are shared by every app on it: under a sub-path, ours carry it
// ("/checkin/pages"), so neither deletes the other's. At the root: "pages", "static-…".
var CACHE_PREFIX = ROOT === "/" ? "" : ROOT;
var STATIC_CACHE = CACHE_PREFIX + "static-" + STATIC_FINGERPRINT;
var PAGES_CACHE = CACHE_PREFIX + "pages";
// "/offline" as the site's path: "/checkin/offline" under a sub-path.
function at(path) { return ROOT + path.slice(1); }
// A site path as the app's own ("/checkin/plans/3" is "/plans/3"); null outside the app.
function inApp(pathname) { return pathname.indexOf(ROOT) === 0 ? "/" + pathname.slice(ROOT.length) : null; }
// The URL a page names for a static file of ours (its version added); others as they are.
function versioned(path) {
  var version = typeof STATIC_VERSIONS === "object" ? STATIC_VERSIONS[inApp(path)] : null;
  return version ? path + "?v=" + version : path;
}
// A static file is cached by its path: a page of any version finds it (a kept page may name
// an older one), and the cache itself is replaced when any file changes.
function staticQuery(search) { return !search || /^\?v=[0-9a-f]+$/.test(search); }
var OFFLINE_URL = at("/offline");
// The shell every page names (base.html) and the offline page: precached at install, which
// happens on the login page, so it is only what the login page loads itself.
var PRECACHE = [OFFLINE_URL].concat([
  "/manifest.json",
  "/static/css/app.css",
  "/static/css/plan.css",
  "/static/css/lists.css",
  "/static/css/notices.css",
  "/static/css/account.css",
  "/static/vendor/htmx-2.0.11.min.js",
  "/static/js/app.js",
  "/static/js/outbox.js",
  "/static/js/keep.js",
  "/static/icons/icon-32.png",
].map(at));
// The scripts of single pages, the check-in's map and the photos' code among them: not
// precached (the login page needs none of them). Fetched into the static cache when a kept page names one
// (keepNamedStatic: today's page keeps its audits' check-in and plan pages, so those work
// offline), or kept when a page online loads one; then served from there like the precache.
var PAGE_CODE = [
  "/static/js/carousel.js",
  "/static/js/plan-rules.js",
  "/static/js/outbox-page.js",
  "/static/js/outbox-outcomes.js",
  "/static/js/account.js",
  "/static/js/calendar.js",
  "/static/js/search.js",
  "/static/js/install.js",
  "/static/js/datum.js",
  "/static/js/checkin.js",
  "/static/js/photo-bytes.js",
  "/static/js/photos.js",
  "/static/js/photo-upload.js",
  "/static/js/plan-map.js",
  "/static/js/explanations.js",
  "/static/vendor/leaflet-1.9.4/leaflet.js",
  "/static/vendor/leaflet-1.9.4/leaflet.css",
  "/static/vendor/leaflet-1.9.4/images/layers.png",
  "/static/vendor/leaflet-1.9.4/images/layers-2x.png",
  "/static/vendor/leaflet-1.9.4/images/marker-icon.png",
  "/static/vendor/leaflet-1.9.4/images/marker-icon-2x.png",
  "/static/vendor/leaflet-1.9.4/images/marker-shadow.png",
].map(at);
// What a named file needs that no page names: the images leaflet.css and leaflet.js load.
var NEEDS = {};
NEEDS[at("/static/vendor/leaflet-1.9.4/leaflet.css")] = PAGE_CODE.filter((path) => /\/images\//.test(path));
// Static files kept with them once a page has fetched one, never fetched ahead: the HEIC
// decoder (1.5 MB, static/js/photo-bytes.js loads it when a HEIC is picked), so a HEIC picked
// offline later is still shrunk on the phone.
var ON_DEMAND = /^\/static\/vendor\/libheif-[^/]+\/libheif\.(js|wasm)$/;
// Pages never kept: they belong to no one, change the session, or are answers, not pages.
var NEVER_KEEP = /^\/(admin\/|login|logout|password|lang\/|api\/|session\/|photos\/|offline$|service-worker\.js$)/;
function neverKeep(pathname) {
  var path = inApp(pathname);
  return path === null || NEVER_KEEP.test(path);
}
// On a network that hangs (a basement), a kept copy is shown after this long.
var NETWORK_TIMEOUT_MS = 8000;

// A request the worker makes on its own, not for a page the auditor is loading. The server
// never sets the session cookie on its answer: one that left before a login (or a logout) and
// came back after it would put the old session back in the browser.
function backgroundRequest(url, cache) {
  return new Request(url, { credentials: "same-origin", cache: cache, headers: { "X-Background-Fetch": "1" } });
}

// A static file into the cache, under its path. A versioned URL may come from the HTTP cache
// (its bytes are the version's); one without a version is asked again ("no-cache"), so the
// new cache never gets an old file.
function fetchStatic(cache, path, url) {
  var request = url || versioned(path);
  return fetch(backgroundRequest(request, request === path ? "no-cache" : "default")).then((response) => {
    if (!response.ok) throw new Error("precache: " + path + " answered " + response.status);
    return cache.put(path, response);
  });
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then((cache) => Promise.all(PRECACHE.map((path) => fetchStatic(cache, path))))
      .then(() => self.skipWaiting())
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names
        .filter((name) => name.indexOf(CACHE_PREFIX + "static-") === 0 && name !== STATIC_CACHE)
        .map((name) => caches.delete(name))))
      .then(() => self.clients.claim())
  );
});

// A page whose navigation started while this worker was still installing is not claimed on
// activate (it was not a client yet); app.js asks again once it runs.
self.addEventListener("message", (event) => {
  if (event.data === "claim") event.waitUntil(self.clients.claim());
});

function isKeepable(response) {
  // Only pages are kept: a notice's attachment or an avatar opened by its address is a file
  // (Content-Disposition: attachment, or not HTML) and must not be stored, nor read into memory.
  // Every page says no-store (no HTTP cache keeps it); this copy is the app's own, for
  // offline, and is deleted at login and logout; NEVER_KEEP names the pages it never takes.
  var headers = response && response.headers;
  return response && response.status === 200 && response.type === "basic" && !response.redirected
    && /^text\/html/.test(headers.get("Content-Type") || "")
    && !/^\s*attachment/i.test(headers.get("Content-Disposition") || "");
}

function keepPage(url, response, round) {
  // The copy carries the time it was loaded, for the offline banner. A keep that started before
  // the pages were forgotten (`round`, see keepAll) stores nothing.
  return response.blob().then((body) => {
    if (round !== undefined && round !== keepRound) return undefined;
    var headers = new Headers(response.headers);
    headers.set("X-Cached-At", new Date().toISOString());
    return caches.open(PAGES_CACHE).then((cache) =>
      cache.put(url, new Response(body, { status: 200, statusText: response.statusText, headers: headers })));
  });
}

function offlineCopy(url) {
  return caches.open(PAGES_CACHE).then((cache) => cache.match(url, { ignoreVary: true })).then((kept) => {
    if (!kept) {
      return caches.match(OFFLINE_URL, { cacheName: STATIC_CACHE }).then((page) =>
        page || new Response("离线 / Offline", { status: 503, headers: { "Content-Type": "text/plain; charset=utf-8" } }));
    }
    var cachedAt = kept.headers.get("X-Cached-At") || "";
    return kept.text().then((html) => {
      var headers = new Headers(kept.headers);
      headers.delete("Content-Length");
      return new Response(html.replace("<html", '<html data-offline-copy="' + cachedAt + '"'),
                          { status: 200, headers: headers });
    });
  });
}

function networkFirstPage(event) {
  var request = event.request;
  var url = new URL(request.url);
  var keep = !neverKeep(url.pathname);
  var fromNetwork = fetch(request).then((response) => {
    if (keep && isKeepable(response)) {
      var kept = keeping[url.href] = keepPage(url.href, response.clone());
      kept.catch(() => null).then(() => { if (keeping[url.href] === kept) delete keeping[url.href]; });
      event.waitUntil(kept);
    }
    return response;
  });
  var timeout = new Promise((resolve) => setTimeout(resolve, NETWORK_TIMEOUT_MS));
  return Promise.race([fromNetwork, timeout.then(() => null)])
    .catch(() => null)
    .then((response) => response || offlineCopy(url.href).then((copy) =>
      // Hung, with nothing kept and no offline page: still wait for the network.
      copy.status === 503 ? fromNetwork.catch(() => copy) : copy));
}

// ---- Kept for offline: today's and tomorrow's audits before the auditor needs them ---------
// A page online asks (static/js/keep.js) for the pages it lists to be fetched now and kept in
// "pages" like any page opened online: today's page lists each plan's check-in, check-out,
// plan and explanation pages, so they open offline from the first tap. "refresh" fetches the
// kept today and plan pages again (the outbox sent something: the copies must show it; the
// worker does it too after its own replay); "forget" empties
// "pages" (logout). A keep still under way when the pages are forgotten stores nothing.
var keepRound = 0;

// Two at a time: the auditor's own requests to the server are not kept waiting behind them.
var KEEP_AT_ONCE = 2;

// The pages being kept as they load (networkFirstPage), by URL.
var keeping = {};

// `loaded`: the page that asked ({url, since}: when its navigation started), which this worker
// fetched and kept as it loaded a moment ago: a copy kept since then is what a fetch would
// bring again, so it counts as kept as it is.
function keptAsLoaded(url, loaded, round) {
  if (!loaded || new URL(url, self.location.href).href !== loaded.url) return Promise.resolve(null);
  return Promise.resolve(keeping[loaded.url]).then(() => caches.open(PAGES_CACHE))
    .then((cache) => cache.match(loaded.url))
    .then((copy) => {
      var at = copy ? Date.parse(copy.headers.get("X-Cached-At") || "") : NaN;
      return at >= loaded.since && round === keepRound ? copy : null;
    }, () => null);
}

function keepAll(urls, loaded) {
  var round = keepRound;
  var queue = urls.slice();
  var kept = 0;
  var next = () => {
    var url = queue.shift();
    if (url === undefined) return Promise.resolve();
    return keptAsLoaded(url, loaded, round)
      .then((copy) => copy || fetch(backgroundRequest(url, "no-store")).then((response) => {
        if (!isKeepable(response)) return null;
        var page = response.clone();
        return keepPage(response.url, response, round).then(() => page);
      }))
      .then((page) => {
        if (!page) return null;
        if (round === keepRound) kept += 1;
        return page.text().then(keepNamedStatic);
      })
      .catch(() => null)
      .then(next);
  };
  var lanes = [];
  for (var i = 0; i < KEEP_AT_ONCE; i += 1) lanes.push(next());
  return Promise.all(lanes).then(() => ({ kept: kept, asked: urls.length }));
}

// The PAGE_CODE files a kept page names (its scripts), fetched once each.
var fetchingStatic = {};
function keepNamedStatic(html) {
  var named = [];
  html.replace(/\s(?:src|href)="([^"?#]+)[^"]*"/g, (_, url) => {
    var path = new URL(url, self.location.href).pathname;
    if (PAGE_CODE.indexOf(path) !== -1) named.push(path, ...(NEEDS[path] || []));
    return "";
  });
  return caches.open(STATIC_CACHE).then((cache) => Promise.all(named.map((path) => {
    if (!fetchingStatic[path]) {
      fetchingStatic[path] = cache.match(path).then((hit) => hit || fetchStatic(cache, path))
        .catch(() => null)
        .then(() => { delete fetchingStatic[path]; });
    }
    return fetchingStatic[path];
  })));
}

function refreshKept() {
  return caches.open(PAGES_CACHE).then((cache) => cache.keys())
    .then((requests) => keepAll(requests.map((request) => request.url)
      .filter((url) => /^\/(plans\/|$)/.test(inApp(new URL(url).pathname) || ""))));
}

function forgetKept() {
  keepRound += 1;
  return caches.delete(PAGES_CACHE);
}

self.addEventListener("message", (event) => {
  var data = event.data || {};
  var reply = (answer) => { if (event.ports && event.ports[0]) event.ports[0].postMessage(answer); };
  var keepable = (url) => {
    var where = new URL(url, self.location.origin);
    return where.origin === self.location.origin && !neverKeep(where.pathname);
  };
  var work = null;
  if (data.type === "keep" && Array.isArray(data.urls)) {
    work = keepAll(data.urls.filter((url) => typeof url === "string" && keepable(url)),
                   data.loaded && typeof data.loaded.url === "string" ? data.loaded : null);
  } else if (data.type === "refresh") {
    work = refreshKept();
  } else if (data.type === "forget") {
    work = forgetKept().then(() => ({ forgotten: true }));
  }
  if (work) event.waitUntil(work.then(reply));
});

self.addEventListener("fetch", (event) => {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    if (request.mode === "navigate" && (inApp(url.pathname) === "/logout" || inApp(url.pathname) === "/login")) {
      event.waitUntil(forgetKept());
    }
    if (request.mode === "navigate" && inApp(url.pathname) === "/logout") {
      // No network: the offline page, not the browser's error page (the session stays).
      event.respondWith(fetch(request).catch(() => caches.match(OFFLINE_URL, { cacheName: STATIC_CACHE })
        .then((page) => page || Response.error())));
    }
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(networkFirstPage(event));
    return;
  }
  if (PRECACHE.indexOf(url.pathname) !== -1 && staticQuery(url.search)) {
    event.respondWith(
      caches.match(url.pathname, { cacheName: STATIC_CACHE }).then((hit) => hit || fetch(request))
    );
    return;
  }
  if ((PAGE_CODE.indexOf(url.pathname) !== -1 || ON_DEMAND.test(inApp(url.pathname) || "")) && staticQuery(url.search)) {
    event.respondWith(caches.open(STATIC_CACHE).then((cache) => cache.match(url.pathname).then((hit) =>
      hit || fetch(request).then((response) => {
        if (response.ok) event.waitUntil(cache.put(url.pathname, response.clone()));
        return response;
      }))));
  }
});
// ---- end App shell ----

// ---- Outbox: replay queued check-ins and photos ----------------
// The queue itself lives in static/js/outbox.js, shared with the pages. A replay that leaves
// entries waiting (5xx, no network) rejects, so the browser tries the sync again later.
importScripts(versioned(at("/static/js/outbox.js")));
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil(self.Outbox.replay().then((summary) => {
    // What was sent shows on the kept pages even if no page is open to ask (keep.js does).
    var refreshed = summary && summary.sent ? refreshKept() : Promise.resolve();
    return refreshed.then(() => {
      if (summary && summary.waiting && !summary.login) throw new Error("outbox: entries still waiting");
    });
  }));
});
// ---- end Outbox ----
