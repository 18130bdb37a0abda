// Minimal worker for the walking skeleton: it takes control at once so later offline
// work (issue 4) can build on it. It caches nothing yet: every request goes to the network.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

// ---- Outbox (issue 4, client half): replay queued check-ins and photos ----------------
// The queue itself lives in static/js/outbox.js, shared with the pages. A replay that leaves
// entries waiting (5xx, no network) rejects, so the browser tries the sync again later.
importScripts("/static/js/outbox.js");
self.addEventListener("sync", (event) => {
  if (event.tag !== "outbox") return;
  event.waitUntil(self.Outbox.replay().then((summary) => {
    if (summary && summary.waiting && !summary.login) throw new Error("outbox: entries still waiting");
  }));
});
// ---- end Outbox ----
