// Search as you type, quiet while an input method composes: a field marked data-search
// fires "search-typed" for the form's hx-trigger on each input outside a composition and
// once when a composition ends. Pinyin keystrokes (d, da, dal…) are not searched for; the
// characters chosen (大连) are. Letters typed before this script ran (a slow phone, the
// page still loading) are searched for once htmx has bound the form's triggers.
(function () {
  "use strict";
  document.querySelectorAll("input[data-search]").forEach(function (field) {
    var composing = false;
    function typed() { field.dispatchEvent(new CustomEvent("search-typed", { bubbles: true })); }
    field.addEventListener("compositionstart", function () { composing = true; });
    field.addEventListener("compositionend", function () { composing = false; typed(); });
    field.addEventListener("input", function (event) {
      if (!composing && !event.isComposing) typed();
    });
  });
  htmx.onLoad(function (loaded) {
    if (loaded !== document.body) return;
    document.querySelectorAll("input[data-search]").forEach(function (field) {
      if (field.value !== field.defaultValue) field.dispatchEvent(new CustomEvent("search-typed", { bubbles: true }));
    });
  });
})();
