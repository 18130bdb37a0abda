// Today's board: asks for its list again every few seconds while the tab is shown, and at
// once when the tab is shown again. htmx replaces only the list (#board-list), so the
// filters and the scroll position stay (and it waits while the focus is in the list); the interval is the page's
// (data-refresh-seconds). These requests say X-Auto-Refresh: they are not the staff
// member's activity, so an idle session still ends (console/guard.py).
(function () {
  "use strict";
  var EVENT = "board-refresh";
  function refresh() {
    var list = document.getElementById("board-list");
    if (!list || document.visibilityState !== "visible" || !window.htmx) return;
    // Someone moving through the rows with the keyboard keeps their place: the list is
    // replaced on a later tick, once the focus has left it.
    if (list.contains(document.activeElement)) return;
    window.htmx.trigger(list, EVENT);
  }
  var first = document.getElementById("board-list");
  if (!first) return;
  var seconds = Number(first.getAttribute("data-refresh-seconds")) || 15;
  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refresh();
  });
  document.body.addEventListener("htmx:configRequest", function (event) {
    var cause = event.detail.triggeringEvent;
    if (cause && cause.type === EVENT) event.detail.headers["X-Auto-Refresh"] = "1";
  });
})();
