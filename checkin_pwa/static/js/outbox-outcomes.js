// What the server answered to each entry the outbox sent today (static/js/outbox.js keeps
// them, per auditor, in its "done" store): templates/outbox/_outcomes.html, on today's page
// and /outbox. A refusal is an alert that links to /outbox, where the auditor reads it and
// taps "知道了". Shown again whenever the outbox changes (this page, another tab, the worker).
(function () {
  "use strict";
  var box = document.querySelector("[data-outbox-outcomes]");
  if (!box || !window.Outbox) return;
  var listEl = box.querySelector(".outbox-outcome-list");

  function msg(name, values) {
    var text = box.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)] || "";
    return window.CheckinWords.fill(text, values);
  }

  function hhmm(ms) {
    var d = new Date(ms);
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return two(d.getHours()) + ":" + two(d.getMinutes());
  }

  function line(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function render() {
    return window.Outbox.outcomes().then(function (done) {
      listEl.textContent = "";
      done.forEach(function (item) {
        var li = document.createElement("li");
        li.className = "outbox-outcome outbox-outcome-" + item.result;
        li.dataset.key = item.key;
        li.append(line("outbox-label", item.label || item.kind));
        var answer = item.result === "refused" ? msg("refused", { reason: item.answer || "" })
          : (item.answer || msg("sent"));
        var said = line("outbox-answer " + (item.result === "refused" ? "error" : "success"), answer);
        if (item.result === "refused") said.setAttribute("role", "alert");
        li.append(said);
        li.append(line("outbox-made muted", msg("when", { made: hhmm(item.created_at || item.at), sent: hhmm(item.at) })));
        if (item.result === "refused" && box.dataset.outboxUrl) {
          var link = document.createElement("a");
          link.href = box.dataset.outboxUrl;
          link.textContent = msg("see");
          li.append(link);
        }
        listEl.append(li);
      });
      box.hidden = done.length === 0;
    }).catch(function () {});
  }

  window.Outbox.listen(function (message) {
    if (message && (message.type === "sent" || message.type === "refused" || message.type === "replayed")) render();
  });
  render();
})();
