// Today's board: asks for its list again every few seconds while the tab is shown, and at
// once when the tab is shown again. htmx replaces only the list (#board-list), so the
// filters, the focus and the scroll position stay; the interval is the page's
// (data-refresh-seconds).
(function () {
  "use strict";
  function refresh() {
    var list = document.getElementById("board-list");
    if (!list || document.visibilityState !== "visible" || !window.htmx) return;
    window.htmx.trigger(list, "board-refresh");
  }
  var first = document.getElementById("board-list");
  if (!first) return;
  var seconds = Number(first.getAttribute("data-refresh-seconds")) || 15;
  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") refresh();
  });
})();
