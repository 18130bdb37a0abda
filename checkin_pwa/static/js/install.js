// The install hint (_install_hint.html): the browser's own install prompt where it offers
// one (beforeinstallprompt), the steps for iPhone Safari and for other Android browsers,
// and "open in the browser" inside WeChat, whose web view cannot install. Nothing once
// the app runs installed (display-mode standalone; navigator.standalone on iOS).
(function () {
  "use strict";
  var hint = document.getElementById("install-hint");
  if (!hint) return;
  var installed = (window.matchMedia && window.matchMedia("(display-mode: standalone)").matches) ||
    window.navigator.standalone === true;
  var dismissKey = "install-hint-dismissed";
  if (installed) { hint.setAttribute("data-installed", ""); return; }
  if (hint.hasAttribute("data-dismissible")) {
    try { if (localStorage.getItem(dismissKey)) return; } catch (e) { /* storage off: show it */ }
  }
  var ua = navigator.userAgent;
  var deferred = null;

  function show(which) {
    hint.querySelectorAll("[data-when]").forEach(function (part) { part.hidden = part.getAttribute("data-when") !== which; });
    hint.setAttribute("data-showing", which);
    hint.hidden = false;
  }
  function hide() { hint.hidden = true; }

  if (/MicroMessenger/i.test(ua)) { show("wechat"); return; }
  var ios = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  if (ios) show("ios");
  else if (/Android/i.test(ua)) show("android");

  window.addEventListener("beforeinstallprompt", function (event) {
    event.preventDefault();  // shown from our button, when the auditor asks
    deferred = event;
    show("prompt");
  });
  document.getElementById("install-button").addEventListener("click", function () {
    if (!deferred) return;
    var asked = deferred;
    deferred = null;
    asked.prompt();
    asked.userChoice.then(function (choice) { if (choice && choice.outcome === "accepted") hide(); });
  });
  window.addEventListener("appinstalled", hide);
  var dismiss = hint.querySelector("[data-install-dismiss]");
  if (dismiss) {
    dismiss.addEventListener("click", function () {
      try { localStorage.setItem(dismissKey, "1"); } catch (e) { /* hidden for this page only */ }
      hide();
    });
  }
})();
