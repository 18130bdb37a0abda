// The outbox page (/outbox): lists what this phone still has to send (static/js/outbox.js),
// when each was made and its last error; "立即发送" sends now; a refusal stays, with the
// server's reason, until the auditor taps "知道了". Another auditor's entries (a shared
// phone) show only what they are and whose: "等待 王五 登录后发送", never their content.
(function () {
  "use strict";
  var root = document.getElementById("outbox");
  if (!root || !window.Outbox) return;
  var listEl = document.getElementById("outbox-list");
  var sendButton = document.getElementById("outbox-send");
  var statusEl = document.getElementById("outbox-status");
  var loginEl = document.getElementById("outbox-login");

  function msg(name, values) {
    var text = root.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)] || "";
    return window.CheckinWords.fill(text, values);
  }

  function when(ms) {
    var d = new Date(ms);
    function two(n) { return (n < 10 ? "0" : "") + n; }
    return d.getFullYear() + "-" + two(d.getMonth() + 1) + "-" + two(d.getDate()) + " " +
      two(d.getHours()) + ":" + two(d.getMinutes()) + ":" + two(d.getSeconds());
  }

  function lastError(entry) {
    if (entry.state === "refused") return entry.reason || entry.last_error;
    if (entry.error_code === "login") return msg("login");
    if (entry.error_code === "owner") return entry.last_error;
    if (entry.error_code === "network") return msg("network");
    if (entry.error_code === "server") return msg("server", { status: entry.last_error });
    return "";
  }

  // An exception explanation (kind "note"): the start of what was typed, as text.
  function noteText(entry) {
    var text = "";
    (entry.fields || []).forEach(function (pair) { if (pair[0] === "text") text = String(pair[1] || ""); });
    text = text.replace(/\s+/g, " ").trim();
    return text.length > 80 ? text.slice(0, 80) + "…" : text;
  }

  function line(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function kindName(kind) {
    var words = (document.getElementById("outbox-badge") || {}).dataset || {};
    var names = { checkin: words.msgCheckin, checkout: words.msgCheckout, photo: words.msgPhoto, note: msg("note") };
    return names[kind] || kind;
  }

  // Someone else's: what kind, when, and whose; nothing of what it says.
  function othersEntry(entry) {
    var li = document.createElement("li");
    li.className = "card outbox-entry outbox-others outbox-" + entry.state;
    li.dataset.key = entry.key;
    li.dataset.kind = entry.kind;
    li.dataset.state = entry.state;
    li.append(line("outbox-label", kindName(entry.kind)));
    li.append(line("outbox-state outbox-owner", msg("others", { name: entry.auditor_name || "?" })));
    li.append(line("outbox-made muted", msg("made", { time: when(entry.created_at) })));
    return li;
  }

  function render() {
    var me = window.Outbox.pageAuditor();
    return window.Outbox.list().then(function (entries) {
      listEl.textContent = "";
      var needsLogin = !me && entries.some(function (e) { return e.state === "waiting"; });
      var mine = entries.filter(function (e) { return me && window.Outbox.isOwn(e, me.id); });
      entries.forEach(function (entry) {
        if (mine.indexOf(entry) === -1) { listEl.append(othersEntry(entry)); return; }
        var li = document.createElement("li");
        li.className = "card outbox-entry outbox-" + entry.state;
        li.dataset.key = entry.key;
        li.dataset.kind = entry.kind;
        li.dataset.state = entry.state;
        li.append(line("outbox-label", entry.label || entry.kind));
        if (entry.kind === "note") li.append(line("outbox-note-text", noteText(entry)));
        li.append(line("outbox-state", entry.state === "refused" ? msg("refused") : msg("waiting")));
        li.append(line("outbox-made muted", msg("made", { time: when(entry.created_at) })));
        if (entry.attempts) li.append(line("outbox-attempts muted", msg("attempts", { n: entry.attempts })));
        var error = lastError(entry);
        if (error) {
          var p = line("outbox-error " + (entry.state === "refused" ? "error" : "warning"), error);
          if (entry.state === "refused") p.setAttribute("role", "alert");
          li.append(p);
        }
        if (entry.error_code === "login") needsLogin = true;
        if (entry.state === "refused") {
          var ok = document.createElement("button");
          ok.type = "button";
          ok.className = "secondary outbox-dismiss";
          ok.textContent = msg("dismiss");
          ok.addEventListener("click", function () { window.Outbox.dismiss(entry.key).then(render); });
          li.append(ok);
        }
        listEl.append(li);
      });
      if (!entries.length) listEl.append(line("outbox-empty", msg("empty")));
      loginEl.hidden = !needsLogin;
      sendButton.hidden = !mine.some(function (e) { return e.state === "waiting"; });
    });
  }

  sendButton.addEventListener("click", function () {
    sendButton.disabled = true;
    statusEl.textContent = msg("sending");
    window.Outbox.replayFromPage(true).then(function (summary) {
      sendButton.disabled = false;
      statusEl.textContent = summary ? msg("sent", { n: summary.sent }) : "";
      return render();
    });
  });

  window.Outbox.listen(function () { render(); });
  render();
})();
