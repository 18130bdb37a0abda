// The calendar (R12): a tapped day's plans are swapped in below the month by htmx; bring
// them into view, as little scrolling as needed (all of the list when it fits, its start
// when it does not). The keyboard focus stays on the day htmx put it back on.
(function () {
  "use strict";
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail && event.detail.requestConfig;
    if (!config || !config.elt || !config.elt.matches || !config.elt.matches("#calendar a.day")) return;
    var plans = document.getElementById("calendar-day");
    if (!plans) return;
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    plans.scrollIntoView({ block: "nearest", behavior: still ? "auto" : "smooth" });
  });
})();
