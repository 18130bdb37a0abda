// Today's task cards (R2): CSS scroll snap does the swiping; this adds the previous /
// next buttons and the "第 n/N 个" line. Without it the cards still scroll by touch.
(function () {
  "use strict";
  document.querySelectorAll("[data-carousel]").forEach(function (controls) {
    var track = document.getElementById(controls.getAttribute("data-carousel"));
    if (!track || !track.children.length) return;
    var cards = Array.prototype.slice.call(track.children);
    var label = controls.querySelector(".carousel-position");
    var prev = controls.querySelector('[data-carousel-step="-1"]');
    var next = controls.querySelector('[data-carousel-step="1"]');
    var template = controls.getAttribute("data-position-text");

    function current() {
      var left = track.getBoundingClientRect().left;
      var best = 0;
      cards.forEach(function (card, i) {
        var gap = Math.abs(card.getBoundingClientRect().left - left);
        if (gap < Math.abs(cards[best].getBoundingClientRect().left - left)) best = i;
      });
      return best;
    }

    function show() {
      var i = current();
      label.textContent = window.CheckinWords.fill(template, { n: i + 1, total: cards.length });
      prev.disabled = i === 0;
      next.disabled = i === cards.length - 1;
    }

    function go(step) {
      var i = Math.max(0, Math.min(cards.length - 1, current() + step));
      track.scrollTo({ left: cards[i].offsetLeft - cards[0].offsetLeft, behavior: "smooth" });
    }

    prev.addEventListener("click", function () { go(-1); });
    next.addEventListener("click", function () { go(1); });
    var pending = null;
    track.addEventListener("scroll", function () {
      if (pending) cancelAnimationFrame(pending);
      pending = requestAnimationFrame(show);
    }, { passive: true });
    controls.hidden = false;
    show();
  });
})();
