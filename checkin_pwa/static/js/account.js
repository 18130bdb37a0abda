// 获取验证码 (R1): after a code was sent, the button counts the seconds down
// (data-countdown) and is disabled until it may be used again. htmx swaps the button in
// (auth/_code_send.html); without JS the server refuses early resends with the seconds.
(function () {
  function start(button) {
    var left = parseInt(button.getAttribute("data-countdown") || "0", 10);
    if (!(left > 0) || button.dataset.counting) return;
    button.dataset.counting = "1";
    var label = button.textContent;
    var pattern = button.getAttribute("data-wait-text") || "{s}";
    function tick() {
      if (!button.isConnected) return;
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        button.setAttribute("data-countdown", "0");
        delete button.dataset.counting;
        return;
      }
      button.disabled = true;
      button.textContent = window.CheckinWords.fill(pattern, { s: left });
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  }
  function scan(root) {
    (root || document).querySelectorAll("button[data-countdown]").forEach(start);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { scan(); });
  } else {
    scan();
  }
  document.addEventListener("htmx:afterSettle", function () { scan(); });
})();
