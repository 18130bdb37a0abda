// The exception explanation form (R10) with the phone's outbox (R17): progressive
// enhancement over the plain form of templates/plans/_explanations.html (htmx posts it and
// swaps #explanations). Offline, or when the send gets no answer or a 5xx, the explanation
// is kept in the outbox (static/js/outbox.js, kind "note"), shown at once as
// "已保存，联网后自动发送", and sent later with the same action key: written exactly once.
(function () {
  "use strict";
  if (!window.Outbox) return;

  function words() {
    var badge = document.getElementById("outbox-badge");
    return badge ? badge.dataset : {};
  }

  function isNoteForm(form) { return form && form.matches && form.matches("form[data-explanation-form]"); }

  // The phone's clock at the moment of writing: evidence only, the server keeps its own.
  // Capture phase, so the value is in place before htmx reads the form.
  document.addEventListener("submit", function (event) {
    if (!isNoteForm(event.target)) return;
    var clock = event.target.elements.namedItem("device_time");
    if (clock && !clock.value) clock.value = String(Date.now());
  }, true);

  // Offline there is no server to say "empty" or "too long": the same limits here (counted
  // after trimming, like the server; code points, not UTF-16 units), said in place.
  function refusal(box, text) {
    var trimmed = Array.from((text || "").trim());
    var max = parseInt(box.dataset.maxChars, 10) || 2000;
    if (!trimmed.length) return box.dataset.msgEmpty || "";
    if (trimmed.length > max) return window.CheckinWords.fill(box.dataset.msgTooLong, { length: trimmed.length });
    return "";
  }

  function sayError(form, message) {
    var error = form.querySelector("#explanation-error");
    if (!message) { if (error) error.remove(); return; }
    if (!error) {
      error = document.createElement("p");
      error.id = "explanation-error";
      error.className = "error";
      error.setAttribute("role", "alert");
      form.querySelector("button[type=submit]").insertAdjacentElement("beforebegin", error);
    }
    error.textContent = message;
  }

  function queue(form, neverSent, said) {
    var box = form.closest("#explanations");
    if (!box || form.dataset.queued) return;
    var refused = refusal(box, (form.elements.namedItem("text") || {}).value);
    sayError(form, refused);
    if (refused) return;
    form.dataset.queued = "1";
    var key = form.elements.namedItem("idempotency_key");
    var clock = form.elements.namedItem("device_time");
    var text = form.elements.namedItem("text");
    var fields = [];
    new FormData(form).forEach(function (value, name) { fields.push([name, value]); });
    var sentKey = key.value || window.Outbox.newKey();
    window.Outbox.add({
      key: sentKey, kind: "note", url: form.getAttribute("action"), fields: fields,
      label: box.dataset.outboxLabel || "异常说明",
      device_time: parseInt(clock && clock.value, 10) || Date.now()
    }).then(function () {
      // Shown at once, as text (never as HTML): what was typed, waiting to be sent.
      var item = document.createElement("li");
      item.className = "explanation explanation-queued";
      item.dataset.outboxKey = sentKey;
      var status = document.createElement("p");
      status.className = "explanation-meta outcome-queued";
      status.setAttribute("role", "status");
      status.textContent = said || words().msgSaved || "已保存，联网后自动发送";
      var body = document.createElement("p");
      body.className = "explanation-text";
      body.textContent = text ? text.value : "";
      item.append(status, body);
      var list = box.querySelector(".explanation-list");
      if (!list) {
        list = document.createElement("ol");
        list.className = "explanation-list";
        var empty = box.querySelector(".no-explanations");
        if (empty) empty.replaceWith(list); else box.append(list);
      }
      list.prepend(item);
      // The next explanation is another action: a new key, an empty box.
      key.value = window.Outbox.newKey();
      if (clock) clock.value = "";
      if (text) text.value = "";
      delete form.dataset.queued;
    }, function () { delete form.dataset.queued; });
  }

  window.Outbox.keepUnsent("form[data-explanation-form]", queue);
  // After a swap the new form is empty and has a new key; the clock is set at the next submit.

  // Sent later while this page is open: the server's list replaces ours (it has the new one).
  window.Outbox.listen(function (message) {
    if (!message || !message.key) return;
    var item = document.querySelector('.explanation-queued[data-outbox-key="' + message.key + '"]');
    if (!item) return;
    if (message.type === "sent" && message.text) {
      var fresh = new DOMParser().parseFromString(message.text, "text/html").getElementById("explanations");
      var box = document.getElementById("explanations");
      if (fresh && box) {
        // Keep what is still being typed, and other explanations still waiting.
        var typing = box.querySelector("textarea[name=text]");
        var waiting = Array.prototype.slice.call(box.querySelectorAll(".explanation-queued"))
          .filter(function (el) { return el !== item; });
        var freshText = fresh.querySelector("textarea[name=text]");
        if (typing && freshText) freshText.value = typing.value;
        var list = fresh.querySelector(".explanation-list");
        waiting.reverse().forEach(function (el) { if (list) list.prepend(el); });
        // The fresh form's own words after a replay ("saved", an error) are not this page's.
        fresh.querySelectorAll("form [role=status], form [role=alert]").forEach(function (el) { el.remove(); });
        box.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
      } else {
        item.remove();
      }
    } else if (message.type === "refused") {
      var status = item.querySelector(".outcome-queued");
      if (status) {
        status.className = "explanation-meta error";
        status.setAttribute("role", "alert");
        status.textContent = message.reason || "";
      }
    }
  });
})();
