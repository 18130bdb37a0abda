// Minimal worker for the walking skeleton: it takes control at once so later offline
// work (issue 4) can build on it. It caches nothing yet: every request goes to the network.
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
