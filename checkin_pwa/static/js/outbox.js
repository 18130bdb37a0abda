// The outbox (R17): check-ins, check-outs, photo uploads and exception explanations (kind
// "note", static/js/explanations.js) made without a network are kept in IndexedDB
// ("checkin-outbox") on the phone, with their photos as Blobs, and sent later, exactly
// once, with nothing lost. Loaded by every page (base.html) and by the service worker
// (importScripts), so it must not touch the DOM outside the page section at the bottom.
//
// An entry: {key, kind: "checkin"|"checkout"|"photo"|"note", url, fields: [[name, value]]
// (File/Blob values kept as they are), label, created_at (ms), device_time, position, attempts,
// last_error, error_code, state: "waiting"|"refused", reason, sending_until, next_try_at,
// auditor, auditor_name}.
//
// Each entry belongs to the auditor who made it (auditor: the id the page carries on
// #outbox-badge). A replay first asks the server whose session this is (GET /session/csrf)
// and sends only that auditor's entries; anyone else's wait, untouched, and are listed as
// "waiting for <name> to log in". The server checks the recorded author again
// (header X-Outbox-Author). Entries made before owners were recorded have none: they go
// with the session they are replayed in.
//
// What the server answered is kept for the day in a second store ("done": {key, auditor,
// kind, label, result: "sent"|"refused", answer, at}), without the payload, for the
// "sent" list shown on today's page and /outbox.
//
// It leaves the outbox only when the server accepted it (2xx), or when the server refused it
// for good (409/422/4xx) AND the auditor tapped "知道了" after reading the reason. A 401 keeps
// it (log in again), an expired CSRF token is renewed and the entry tried once more, 5xx and
// network errors keep it with a back-off. No expiry.
//
// Guards against sending twice: one replay at a time (a Web Locks lock shared by the pages and
// the worker), a "sending" mark set in an IndexedDB transaction, and finally the server, which
// answers a repeated Idempotency-Key with its first answer and writes nothing.
(function (global) {
  "use strict";

  var DB_NAME = "checkin-outbox";
  var STORE = "entries";
  var DONE = "done";
  var LOCK = "outbox-replay";
  var SENDING_MS = 120000;        // a "sending" mark older than this was a crashed replay
  var BACKOFF_FIRST_MS = 1000;    // after a 5xx / network error: 1 s, 2 s, 4 s ... 5 min
  var BACKOFF_MAX_MS = 300000;
  var CHANNEL = "checkin-outbox";
  var WHO_TIMEOUT_MS = 10000;     // asking the server whose session this is
  var POST_TIMEOUT_MS = 120000;   // a replay that gets no answer at all is tried again later

  var dbPromise = null;
  function open() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = global.indexedDB.open(DB_NAME, 2);
        request.onupgradeneeded = function () {
          var db = request.result;
          if (!db.objectStoreNames.contains(STORE)) {
            db.createObjectStore(STORE, { keyPath: "key" }).createIndex("created_at", "created_at");
          }
          if (!db.objectStoreNames.contains(DONE)) db.createObjectStore(DONE, { keyPath: "key" });
        };
        request.onsuccess = function () {
          var db = request.result;
          // A newer outbox.js (another tab, the worker) upgrades: let it, open again later.
          db.onversionchange = function () { db.close(); dbPromise = null; };
          resolve(db);
        };
        request.onerror = function () { dbPromise = null; reject(request.error); };
      });
    }
    return dbPromise;
  }

  // Run fn(store) in one transaction; resolves with fn's result once the transaction is done.
  function withStore(mode, fn, name) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name || STORE, mode);
        var result;
        Promise.resolve(fn(tx.objectStore(name || STORE))).then(function (value) { result = value; });
        tx.oncomplete = function () { resolve(result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function req(request) {
    return new Promise(function (resolve, reject) {
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  var channel = null;
  try { channel = new global.BroadcastChannel(CHANNEL); } catch (e) { channel = null; }
  function announce(message) {
    if (channel) channel.postMessage(message);
    if (Outbox.onchange) Outbox.onchange(message);
  }

  function newKey() {
    if (global.crypto && global.crypto.randomUUID) return global.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function list() {
    return withStore("readonly", function (store) { return req(store.getAll()); }).then(function (entries) {
      return (entries || []).sort(function (a, b) { return a.created_at - b.created_at; });
    });
  }

  // The auditor of this page ({id, name}), or null: no one is logged in here (or a worker).
  function pageAuditor() {
    if (typeof document === "undefined") return null;
    var el = document.getElementById("outbox-badge");
    return el && el.dataset.auditor ? { id: el.dataset.auditor, name: el.dataset.auditorName || "" } : null;
  }

  // Whose entry: true for the auditor `id`'s own, and for one made before owners were kept.
  function isOwn(entry, id) { return !entry.auditor || (id != null && String(entry.auditor) === String(id)); }

  function count() {
    var me = pageAuditor();
    return list().then(function (entries) {
      return entries.filter(function (e) { return me && isOwn(e, me.id); }).length;
    });
  }

  function add(entry) {
    var now = Date.now();
    var me = pageAuditor() || { id: "", name: "" };
    var full = Object.assign({
      key: newKey(), created_at: now, device_time: now, position: null, label: "",
      attempts: 0, last_error: "", error_code: "", reason: "", state: "waiting",
      sending_until: 0, next_try_at: 0, auditor: me.id, auditor_name: me.name
    }, entry);
    return withStore("readwrite", function (store) { store.put(full); }).then(function () {
      announce({ type: "added", key: full.key });
      requestSync();
      return full;
    });
  }

  function dismiss(key) { // only a refusal the auditor has read may go
    return withStore("readwrite", function (store) {
      return req(store.get(key)).then(function (entry) {
        if (entry && entry.state === "refused") store.delete(key);
      });
    }).then(function () { announce({ type: "dismissed", key: key }); });
  }

  // Take the "sending" mark: read and write in one transaction, so two replays (a page and the
  // worker, in a browser without Web Locks) cannot both take the same entry.
  // Under the Web Lock a mark left behind is from a replay that died (a page navigated away
  // mid-send): the lock already makes us the only sender, and the key guards the server.
  function claim(key, force, locked) {
    return withStore("readwrite", function (store) {
      return req(store.get(key)).then(function (entry) {
        var now = Date.now();
        if (!entry || entry.state !== "waiting" || (!locked && entry.sending_until > now)) return null;
        if (!force && entry.next_try_at > now) return null;
        entry.sending_until = now + SENDING_MS;
        store.put(entry);
        return entry;
      });
    });
  }

  // A refused photo is not needed any more (the auditor still has it in the album): only its
  // name stays, for the list.
  function withoutFiles(fields) {
    return (fields || []).map(function (pair) {
      return pair[1] instanceof Blob ? [pair[0], "", pair[1].name || pair[2] || ""] : pair;
    });
  }

  // The day's answers: what was sent or refused, and what the server said, without the payload.
  function startOfDay(ms) { var d = new Date(ms); d.setHours(0, 0, 0, 0); return d.getTime(); }
  function remember(entry, result, answer) {
    var now = Date.now();
    return withStore("readwrite", function (store) {
      return req(store.getAll()).then(function (all) {
        (all || []).forEach(function (old) { if (old.at < startOfDay(now)) store.delete(old.key); });
        store.put({ key: entry.key, auditor: entry.auditor || "", auditor_name: entry.auditor_name || "",
                    kind: entry.kind, label: entry.label, result: result, answer: answer || "",
                    created_at: entry.created_at, at: now });
      });
    }, DONE).catch(function () {});
  }

  // Today's answers for the auditor `id` (the page's by default), newest first.
  function outcomes(id) {
    var me = id != null ? { id: id } : pageAuditor();
    var since = startOfDay(Date.now());
    return withStore("readonly", function (store) { return req(store.getAll()); }, DONE).then(function (all) {
      return (all || []).filter(function (d) { return d.at >= since && me && isOwn(d, me.id); })
        .sort(function (a, b) { return b.at - a.at; });
    });
  }

  function update(key, changes) {
    return withStore("readwrite", function (store) {
      return req(store.get(key)).then(function (entry) {
        if (!entry) return;
        store.put(Object.assign(entry, changes, { sending_until: 0 }));
      });
    });
  }

  function remove(key) {
    return withStore("readwrite", function (store) { store.delete(key); });
  }

  // --- The CSRF token: the page's own, else a fresh one from the server ---------------------
  var token = "";
  function pageToken() {
    if (typeof document === "undefined" || !document.body) return "";
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }
  // fetch() that gives up after `ms` (a request that hangs rejects like a network error).
  function fetchWithin(url, options, ms) {
    if (typeof AbortController === "undefined") return global.fetch(url, options);
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, ms);
    return global.fetch(url, Object.assign({ signal: abort.signal }, options)).then(function (response) {
      clearTimeout(timer);
      return response;
    }, function (error) { clearTimeout(timer); throw error; });
  }

  // The app's root path: on a page, what base.html says (the sub-path the app is mounted
  // under, or "/"); in the service worker, the folder of the worker's script, which is served
  // from the app's root.
  function appRoot() {
    if (typeof document !== "undefined") return document.documentElement.getAttribute("data-root") || "/";
    return new URL("./", global.location.href).pathname;
  }

  // Whose session this is, with a fresh token: {token, auditor}, {login: true}, or
  // {unknown: true} (no answer: nothing is sent this time).
  function freshToken() {
    return fetchWithin(appRoot() + "session/csrf", { credentials: "same-origin", cache: "no-store",
                                          headers: { "X-Outbox": "1" } }, WHO_TIMEOUT_MS)
      .then(function (response) {
        if (response.status === 401) return { login: true };
        if (!response.ok) return { unknown: true, status: response.status };
        return response.json().then(function (body) {
          return { token: body.csrf_token || "", auditor: body.auditor == null ? null : String(body.auditor) };
        });
      })
      .catch(function (error) { return { unknown: true, status: 0, error: String(error) }; });
  }

  // The server's reason for a refusal: the check outcome's error, a photo's error, an error
  // page's alert. DOMParser where there is one (pages), a plain reading otherwise (worker).
  function reasonOf(html) {
    html = html || "";
    if (typeof DOMParser !== "undefined") {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var found = doc.querySelector("#check-outcome .error, .photo-error, [role=alert], .error");
      return found ? found.textContent.replace(/\s+/g, " ").trim() : "";
    }
    var match = /class="[^"]*\b(?:photo-error|error)\b[^"]*"[^>]*>([\s\S]*?)<\/(?:p|div|li)>/.exec(html) ||
      /role="alert"[^>]*>([\s\S]*?)<\/(?:p|div|li)>/.exec(html);
    if (!match) return "";
    return plain(match[1]);
  }

  function plain(html) {
    return html.replace(/<[^>]*>/g, " ").replace(/&#34;|&quot;/g, '"').replace(/&#39;/g, "'")
      .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
  }

  function body(entry, csrf) {
    var form = new FormData();
    (entry.fields || []).forEach(function (pair) {
      var name = pair[0], value = pair[1];
      if (name === "csrf_token" || name === "queued_offline" || name === "device_time_sent") return;
      if (value instanceof Blob) form.append(name, value, value.name || pair[2] || "photo.jpg");
      else form.append(name, value == null ? "" : String(value));
    });
    form.append("csrf_token", csrf);
    form.append("queued_offline", "1");
    form.append("device_time_sent", String(Date.now()));
    return form;
  }

  function post(entry, csrf) {
    var headers = { "X-Outbox": "1", "Idempotency-Key": entry.key, "X-CSRFToken": csrf, "HX-Request": "true" };
    if (entry.auditor) headers["X-Outbox-Author"] = String(entry.auditor);
    return fetchWithin(entry.url, {
      method: "POST", body: body(entry, csrf), credentials: "same-origin", cache: "no-store", headers: headers
    }, POST_TIMEOUT_MS);
  }

  // What the server said when it took an entry: the check outcome's title (签到成功, "kept as
  // your own record" ...), else the first status line; "" when it said nothing in words.
  function answerOf(html) {
    html = html || "";
    if (typeof DOMParser !== "undefined") {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var found = doc.querySelector("#check-outcome .outcome-title, [role=status]");
      return found ? found.textContent.replace(/\s+/g, " ").trim() : "";
    }
    var match = /class="[^"]*\boutcome-title\b[^"]*"[^>]*>([\s\S]*?)<\/p>/.exec(html) ||
      /role="status"[^>]*>([\s\S]*?)<\/(?:p|div|li)>/.exec(html);
    return match ? plain(match[1]) : "";
  }

  function isLoginPage(response) {
    return response.redirected && /\/login(\?|$)/.test(new URL(response.url).pathname + "?");
  }

  // Send one entry: "sent", "refused", "login" (stop: every other one would fail the same way),
  // "owner" (the server says this session is not the entry's author: stop, keep it),
  // or "later" (5xx / network: stop too, the next ones may depend on this one).
  function sendOne(entry) {
    var attempt = function (csrf, renewed) {
      return post(entry, csrf).then(function (response) {
        if (response.status === 401 || isLoginPage(response)) return { outcome: "login" };
        return response.text().then(function (text) {
          var status = response.status;
          // A check-in sent online whose answer was lost may come back as the question "far
          // from the planned address: confirm?": nothing was signed, the auditor must see it.
          if (status >= 200 && status < 300 && text.indexOf("outcome-confirm") !== -1) {
            return { outcome: "refused", status: status, reason: reasonOf(text) };
          }
          if (status >= 200 && status < 300) return { outcome: "sent", status: status, text: text };
          if (status === 409 && text.indexOf("data-outbox-not-yours") !== -1) {
            return { outcome: "owner", status: status, reason: reasonOf(text) };
          }
          if (status === 400 && text.indexOf("data-csrf-expired") !== -1 && !renewed) {
            return freshToken().then(function (fresh) {
              if (fresh.login) return { outcome: "login" };
              token = fresh.token || token;
              return attempt(token, true);
            });
          }
          if (status >= 500 || status === 408 || status === 429) return { outcome: "later", status: status };
          return { outcome: "refused", status: status, reason: reasonOf(text) || ("HTTP " + status) };
        });
      }, function (error) { return { outcome: "later", status: 0, error: String(error) }; });
    };
    return attempt(token || pageToken(), false);
  }

  var whoFailures = 0; // asking whose session it is failed this many times in a row: back off

  // Stop the pass at the first waiting entry of `id`'s, saying why it waits.
  function markFirst(entries, id, changes) {
    var first = entries.filter(function (e) { return e.state === "waiting" && isOwn(e, id); })[0];
    return first ? update(first.key, changes) : Promise.resolve();
  }

  function backoff(attempts) {
    return Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, Math.max(0, attempts - 1)));
  }

  // One pass over the waiting entries, oldest first. Resolves with a summary:
  // {sent, refused, waiting, login, retryInMs}. `force` ignores the back-off (the button).
  function replayOnce(force, locked) {
    var summary = { sent: 0, refused: 0, waiting: 0, others: 0, login: false, retryInMs: 0 };
    var who = null;
    return list().then(function (entries) {
      if (!entries.some(function (e) { return e.state === "waiting"; })) return null;
      return freshToken().then(function (answer) {
        who = answer;
        if (answer.login) {
          // This page's auditor must log in again; nobody else's entry is touched.
          summary.login = true;
          var me = pageAuditor();
          return me ? markFirst(entries, me.id, { error_code: "login", last_error: "401" }) : null;
        }
        if (answer.unknown) {
          whoFailures += 1;
          summary.retryInMs = backoff(whoFailures);
          return null;
        }
        whoFailures = 0;
        token = answer.token || token;
        return sendOwn(entries, answer.auditor);
      });
    }).then(function () {
      return list();
    }).then(function (left) {
      var mine = who && who.auditor != null ? who.auditor : null;
      left.forEach(function (e) {
        if (e.state !== "waiting") return;
        if (mine != null && !isOwn(e, mine)) summary.others += 1;
        else summary.waiting += 1;
      });
      announce({ type: "replayed", summary: summary });
      return summary;
    });

    function sendOwn(entries, auditor) {
      var chain = Promise.resolve(false);
      entries.forEach(function (listed) {
        chain = chain.then(function (stop) {
          if (stop || listed.state !== "waiting" || !isOwn(listed, auditor)) return stop;
          // Still in its back-off: this pass leaves it, and says when it is due, so the page's
          // retry timer (replaced by every pass) is armed again for it.
          var due = force ? 0 : (listed.next_try_at || 0) - Date.now();
          if (due > 0) {
            summary.retryInMs = summary.retryInMs ? Math.min(summary.retryInMs, due) : due;
            return false;
          }
          return claim(listed.key, force, locked).then(function (entry) {
            if (!entry) return false;
            return sendOne(entry).then(function (result) {
              if (result.outcome === "sent") {
                summary.sent += 1;
                return remove(entry.key).then(function () {
                  return remember(entry, "sent", answerOf(result.text));
                }).then(function () {
                  announce({ type: "sent", key: entry.key, kind: entry.kind, status: result.status, text: result.text });
                  return false;
                });
              }
              if (result.outcome === "refused") {
                summary.refused += 1;
                return update(entry.key, { state: "refused", attempts: entry.attempts + 1, error_code: "refused",
                                           reason: result.reason, last_error: result.reason,
                                           fields: withoutFiles(entry.fields) }).then(function () {
                  return remember(entry, "refused", result.reason);
                }).then(function () {
                  announce({ type: "refused", key: entry.key, reason: result.reason });
                  return false;
                });
              }
              if (result.outcome === "login") {
                summary.login = true;
                return update(entry.key, { error_code: "login", last_error: "401" }).then(function () { return true; });
              }
              if (result.outcome === "owner") {
                return update(entry.key, { error_code: "owner", last_error: result.reason }).then(function () { return true; });
              }
              var attempts = entry.attempts + 1;
              var wait = backoff(attempts);
              summary.retryInMs = wait;
              return update(entry.key, {
                attempts: attempts, next_try_at: Date.now() + wait,
                error_code: result.status ? "server" : "network",
                last_error: result.status ? "HTTP " + result.status : (result.error || "network")
              }).then(function () { return true; });
            });
          });
        });
      });
      return chain;
    }
  }

  function replay(options) {
    var force = Boolean(options && options.force);
    var locks = global.navigator && global.navigator.locks;
    if (locks && locks.request) {
      return locks.request(LOCK, function () { return replayOnce(force, true); });
    }
    return replayOnce(force);
  }

  // Background Sync where the browser has it: the worker replays even with no page open.
  function requestSync() {
    var nav = global.navigator;
    if (!nav || !nav.serviceWorker || typeof document === "undefined") return Promise.resolve(false);
    return nav.serviceWorker.ready.then(function (registration) {
      if (!registration.sync) return false;
      return registration.sync.register("outbox").then(function () { return true; });
    }).catch(function () { return false; });
  }

  var Outbox = {
    add: add, list: list, count: count, replay: replay, dismiss: dismiss, newKey: newKey,
    requestSync: requestSync, reasonOf: reasonOf, channel: CHANNEL, onchange: null,
    outcomes: outcomes, isOwn: isOwn, pageAuditor: pageAuditor
  };
  global.Outbox = Outbox;

  // --- The page: the badge, the triggers, and retries after a back-off ----------------------
  if (typeof document === "undefined") return;

  function badge() { return document.getElementById("outbox-badge"); }

  // The badge counts this page's auditor's entries; a refusal among them turns it red and
  // says so ("被拒绝 N"), on every page, until the auditor has read it on /outbox.
  function refreshBadge() {
    var me = pageAuditor();
    return list().then(function (entries) {
      var own = entries.filter(function (e) { return me && isOwn(e, me.id); });
      var refused = own.filter(function (e) { return e.state === "refused"; }).length;
      var n = own.length;
      var el = badge();
      if (!el) return n;
      el.hidden = n === 0;
      el.dataset.count = String(n);
      el.dataset.refused = String(refused);
      el.classList.toggle("outbox-badge-refused", refused > 0);
      var number = el.querySelector(".outbox-count");
      if (number) number.textContent = String(n);
      var said = el.querySelector(".outbox-refused-count");
      if (said) {
        said.hidden = refused === 0;
        said.textContent = global.CheckinWords.fill(el.dataset.msgRefusedCount || "{n}", { n: refused });
      }
      return n;
    }).catch(function () { return 0; });
  }

  var retryTimer = null;
  function replayFromPage(force) {
    if (global.navigator.onLine === false) return Promise.resolve(null);
    return replay({ force: force }).then(function (summary) {
      clearTimeout(retryTimer);
      if (summary && summary.retryInMs) retryTimer = setTimeout(function () { replayFromPage(false); }, summary.retryInMs);
      return summary;
    }).catch(function () { return null; });
  }
  Outbox.replayFromPage = replayFromPage;
  Outbox.refreshBadge = refreshBadge;

  // The page's htmx forms matching `selector` are kept here when they cannot reach the server:
  // queue(form, true) when caught offline before leaving, queue(form) after a network error or
  // a 5xx (the server may have it: the payload stays exactly as sent), queue(form, false,
  // words) when no answer came within SLOW_MS: the request goes on, the entry carries the
  // same key, so whichever reaches the server second is answered from the first.
  // While a send is under way its button says "Submitting…" and cannot be tapped again.
  var SLOW_MS = 10000;
  Outbox.keepUnsent = function (selector, queue) {
    function formOf(event) {
      var elt = event.detail && event.detail.elt;
      return elt && elt.matches && elt.matches(selector) ? elt : null;
    }
    function busy(form, on) {
      var button = form.querySelector("button[type=submit]");
      if (!button) return;
      if (on) {
        button.dataset.idleText = button.textContent;
        button.disabled = true;
        button.textContent = (badge() && badge().dataset.msgSubmitting) || "正在提交…";
      } else if (button.dataset.idleText != null) {
        button.textContent = button.dataset.idleText;
        delete button.dataset.idleText;
        button.disabled = false;
      }
    }
    document.addEventListener("htmx:beforeRequest", function (event) {
      var form = formOf(event);
      if (!form) return;
      if (global.navigator.onLine === false) {
        event.preventDefault();
        queue(form, true);
        return;
      }
      var xhr = event.detail.xhr;
      busy(form, true);
      if (xhr) {
        xhr.outboxTimer = setTimeout(function () {
          xhr.outboxKept = true;
          busy(form, false);
          queue(form, false, badge() && badge().dataset.msgSlow);
          replayFromPage(false);
        }, SLOW_MS);
      }
    });
    document.addEventListener("htmx:afterRequest", function (event) {
      var form = formOf(event);
      var xhr = event.detail && event.detail.xhr;
      if (xhr) clearTimeout(xhr.outboxTimer);
      if (form && !(xhr && xhr.outboxKept)) busy(form, false);
    });
    function lost(event) { return event.detail && event.detail.xhr && event.detail.xhr.outboxKept; }
    document.addEventListener("htmx:sendError", function (event) {
      var form = formOf(event);
      if (form && !lost(event)) queue(form);
    });
    document.addEventListener("htmx:responseError", function (event) {
      var form = formOf(event);
      if (form && !lost(event) && event.detail.xhr && event.detail.xhr.status >= 500) queue(form);
    });
  };

  // Logging out with this auditor's entries still unsent asks first (they stay on the phone
  // and go when the same auditor logs in again); without a network it does not try (the
  // browser would show its own error page) and says why.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.matches || !form.matches("form#logout-form")) return;
    var words = badge() ? badge().dataset : {};
    if (global.navigator.onLine === false) {
      event.preventDefault();
      event.stopImmediatePropagation();
      global.alert(words.msgLogoutOffline || "没有网络，现在无法退出登录。");
      return;
    }
    if (form.dataset.unsentAsked) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    var me = pageAuditor();
    list().then(function (entries) {
      var n = entries.filter(function (e) { return me && e.state === "waiting" && isOwn(e, me.id); }).length;
      var ok = !n || global.confirm(global.CheckinWords.fill(words.msgLogoutUnsent || "{n}", { n: n }));
      if (ok) submitAsked(form);
    }, function () { submitAsked(form); });
  }, true);
  // The submit event goes out synchronously (other handlers, e.g. forgetting kept pages, see it).
  function submitAsked(form) {
    form.dataset.unsentAsked = "1";
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
    delete form.dataset.unsentAsked;
  }

  if (channel) channel.addEventListener("message", function () { refreshBadge(); });
  var listeners = [];
  Outbox.onchange = function (message) {
    refreshBadge();
    listeners.forEach(function (fn) { fn(message); });
  };
  // fn(message) on every change, from this page or (through the channel) another or the worker.
  Outbox.listen = function (fn) {
    listeners.push(fn);
    if (channel) channel.addEventListener("message", function (event) { fn(event.data); });
  };

  // The network is back: what waited in a back-off goes now.
  global.addEventListener("online", function () { replayFromPage(true); });

  function start() {
    refreshBadge();
    replayFromPage(false);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})(typeof self !== "undefined" ? self : this);
