// A "Copy" button: <button data-copy="#selector" data-copied="…" data-copy-manual="…">
// copies the text of the element the selector names (a textarea or input). The Clipboard
// API first; inside an intranet's iframe it is refused unless the frame is allowed
// clipboard-write, so then the text is selected and copied with execCommand("copy"),
// which a click may do in any frame. If that is refused too, the text stays selected and
// the status says to press Ctrl+C. Words come from the page (data attributes).
(function () {
  "use strict";

  function say(button, text) {
    var status = button.parentNode.querySelector("[data-copy-status]");
    if (status) status.textContent = text || "";
  }

  function selectAll(field) {
    field.focus();
    field.select();
    field.setSelectionRange(0, field.value.length);
  }

  function copyBySelection(field) {
    selectAll(field);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  function copy(button) {
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    var text = field.value;
    var done = function () { say(button, button.getAttribute("data-copied")); };
    var fallback = function () {
      if (copyBySelection(field)) done();
      else say(button, button.getAttribute("data-copy-manual"));
    };
    if (navigator.clipboard && navigator.clipboard.writeText && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (button) copy(button);
  });
})();
