// Sending a photo (R8, R17): each tile's photo is prepared (photo-bytes.js: its SHA-256 and
// the shrunk copy) and goes up alone in its own request (one photo per request, as the
// server expects), one after the other: a phone on a poor network does better with one
// upload at a time, and decoding several 12 MP photos at once can crash a phone's tab.
// Offline, on a 5xx, a lost or stalled send or an ended session the photo (as sent) waits in
// the outbox (outbox.js) under its key. The tiles it updates are photos.js's
// (window.PhotoTiles); window.PhotoUpload.add(tile, upload) queues one.
(function () {
  "use strict";

  var UPLOAD_TIMEOUT_MS = 300000; // a 2 MB HEIC on a 2G link can take minutes
  var STALL_MS = 10000; // no byte moved and no answer for this long: the outbox keeps it (same key)
  var T = window.PhotoTiles, B = window.CheckinPhotos;
  if (!T || !B) return;
  var text = T.text, groupOf = T.groupOf, groupTitle = T.groupTitle, listOf = T.listOf, updateCount = T.updateCount;
  var setStatus = T.setStatus, showSize = T.showSize, showProgress = T.showProgress, failTile = T.failTile;
  var forget = T.forget, parse = T.parse, changed = T.changed;

  // One job at a time, in the order chosen (see the top of the file).
  var queue = Promise.resolve();
  function enqueue(job) { queue = queue.then(job).catch(function () {}); return queue; }

  async function prepareAndSend(tile, upload) {
    setStatus(tile, text("preparing"));
    var prepared;
    try {
      var bytes = await B.readBytes(upload.file);
      var hash = await B.sha256Hex(bytes);
      var result = await B.shrink(upload.file, bytes);
      prepared = { blob: result.blob, shrunk: result.shrunk, sha256: hash };
    } catch (e) {
      prepared = { blob: upload.file, shrunk: false, sha256: "" }; // the server decides
    }
    showSize(tile, prepared.blob.size, upload.file.size);
    return send(tile, upload, prepared);
  }

  function sentName(name, shrunk) {
    if (!shrunk) return name;
    var dot = name.lastIndexOf(".");
    return (dot > 0 ? name.slice(0, dot) : name || "photo") + ".jpg";
  }

  // The outbox (static/js/outbox.js, R17): offline, or when the send fails with no answer or a
  // 5xx, the photo (as sent: the shrunk copy with the original's SHA-256) waits on the phone.
  // After a failed send the tile still says so, and its Retry sends the outbox now.
  function queuePhoto(tile, upload, prepared, failed, said) {
    var name = sentName(upload.file.name, prepared.shrunk);
    var photo = new File([prepared.blob], name, { type: prepared.blob.type || upload.file.type });
    var badge = document.getElementById("outbox-badge");
    var group = groupOf(tile);
    return window.Outbox.add({
      key: upload.key, kind: "photo", url: upload.url,
      fields: [["csrf_token", upload.csrf], ["group", upload.group], ["original_sha256", prepared.sha256],
               ["original_bytes", String(upload.file.size)], ["original_name", upload.file.name],
               ["together", upload.together ? "on" : ""], ["photo", photo]],
      label: [(badge && badge.dataset.msgPhoto) || "照片", group ? groupTitle(group) : upload.group, upload.file.name].join(" · "),
      device_time: Date.now()
    }).then(function () {
      tile.dataset.outboxKey = upload.key;
      var saved = (badge && badge.dataset.msgSaved) || "已保存，联网后自动发送";
      function showFailed() {
        failTile(tile, said || text("network"), function () {
          if (tile.classList.contains("photo-pending")) return; // a second tap on Retry
          tile.classList.remove("photo-retry", "photo-queued");
          tile.classList.add("photo-pending");
          var old = tile.querySelector(".photo-status");
          if (old) old.remove();
          showProgress(tile);
          setStatus(tile, saved);
          window.Outbox.replayFromPage(true).then(function () {
            if (tile.isConnected && tile.classList.contains("photo-pending")) showFailed();
          });
        });
        queuedTile(tile, saved, true);
      }
      if (failed) showFailed(); else queuedTile(tile, saved, false);
      updateCount(group);
    });
  }

  function queuedTile(tile, saved, failed) {
    tile.classList.remove("photo-pending");
    tile.classList.add("photo-queued");
    if (failed) tile.classList.add("photo-retry");
    var progress = tile.querySelector(".photo-progress");
    if (progress) progress.remove();
    var status = tile.querySelector(".photo-status");
    if (!status) {
      status = document.createElement("p");
      status.className = "photo-status";
      tile.querySelector(".photo-preview").insertAdjacentElement("afterend", status);
    }
    status.textContent = saved;
  }

  // The outbox sent or refused a photo of this page (from here, another tab or the worker).
  if (window.Outbox) {
    window.Outbox.listen(function (message) {
      if (!message || !message.key || (message.type !== "sent" && message.type !== "refused")) return;
      var tile = document.querySelector('.photo-tile[data-outbox-key="' + message.key + '"]');
      if (!tile) return;
      tile.classList.remove("photo-queued");
      if (message.type === "sent") {
        answered(tile, { status: message.status, responseText: message.text || "" }, null);
      } else {
        failTile(tile, message.reason, null);
        updateCount(groupOf(tile));
      }
    });
  }

  function send(tile, upload, prepared) {
    if (navigator.onLine === false && window.Outbox && upload.key) {
      return queuePhoto(tile, upload, prepared).catch(function () {
        failTile(tile, text("network"), null);
      });
    }
    return new Promise(function (resolve) {
      tile.classList.remove("photo-retry");
      tile.classList.add("photo-pending");
      showProgress(tile);
      var body = new FormData();
      body.append("csrf_token", upload.csrf);
      body.append("group", upload.group);
      body.append("original_sha256", prepared.sha256);
      body.append("original_bytes", String(upload.file.size));
      body.append("original_name", upload.file.name);
      body.append("together", upload.together ? "on" : "");
      body.append("photo", prepared.blob, sentName(upload.file.name, prepared.shrunk));

      var xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.timeout = UPLOAD_TIMEOUT_MS;
      xhr.setRequestHeader("X-CSRFToken", upload.csrf);
      xhr.setRequestHeader("X-Checkin-Client", "photos"); // answer with the tile, not the page
      if (upload.key) xhr.setRequestHeader("Idempotency-Key", upload.key);
      setStatus(tile, text("uploading", { percent: 0 }), 0);
      // A send that hangs (no progress, no answer) is given up after STALL_MS and kept in the
      // outbox with its key: should the server have it after all, the replay gets its answer.
      var stalled = false, stall = null;
      function watch() {
        clearTimeout(stall);
        stall = setTimeout(function () { stalled = true; xhr.abort(); }, STALL_MS);
      }
      xhr.addEventListener("loadend", function () { clearTimeout(stall); });
      xhr.upload.addEventListener("progress", function (event) {
        watch();
        if (!event.lengthComputable) return;
        var percent = Math.min(100, Math.round(100 * event.loaded / event.total));
        setStatus(tile, text("uploading", { percent: percent }), percent);
      });
      function retry() {
        if (tile.classList.contains("photo-pending")) return; // a second tap on Retry
        tile.classList.replace("photo-retry", "photo-pending");
        showProgress(tile);
        enqueue(function () { return send(tile, upload, prepared); });
      }
      function kept(said) { // into the outbox; should that fail too, the old Retry
        return queuePhoto(tile, upload, prepared, true, said).then(resolve, function () {
          failTile(tile, text("network"), retry);
          updateCount(groupOf(tile));
          resolve();
        });
      }
      xhr.addEventListener("load", function () {
        if (xhr.status >= 500 && window.Outbox && upload.key) { kept(); return; }
        if (xhr.status === 401 && window.Outbox && upload.key) { // the session ended: log in, it waits
          var alert = parse(xhr.responseText).querySelector("[role=alert]");
          kept(alert && alert.textContent.trim());
          return;
        }
        answered(tile, xhr, retry);
        resolve();
      });
      function lost() {
        if (window.Outbox && upload.key && stalled) {
          var badge = document.getElementById("outbox-badge");
          kept(badge && badge.dataset.msgSlow).then(function () { window.Outbox.replayFromPage(false); });
          return;
        }
        if (window.Outbox && upload.key) { kept(); return; }
        failTile(tile, text("network"), retry);
        updateCount(groupOf(tile));
        resolve();
      }
      xhr.addEventListener("error", lost);
      xhr.addEventListener("timeout", lost);
      xhr.addEventListener("abort", lost);
      watch();
      try { xhr.send(body); } catch (e) { lost(); }
    });
  }

  function answered(tile, xhr, retry) {
    var group = groupOf(tile);
    var content = parse(xhr.responseText);
    var fresh = xhr.status >= 200 && xhr.status < 300 && content.querySelector("li.photo-tile");
    if (fresh) {
      forget(tile);
      if (tile.isConnected) tile.replaceWith(fresh);
      else if (!document.getElementById(fresh.id)) { // the section was redrawn meanwhile
        var now = document.querySelector('#photos .photo-group[data-group="' + (group ? group.dataset.group : "") + '"]');
        if (now) listOf(now).append(fresh);
        group = now;
      }
      if (window.htmx) window.htmx.process(fresh);
      updateCount(group);
      changed();
      return;
    }
    // The server's own words when it gave them: this photo's refusal, else an error page's
    // message (an expired form), else a page's notice (a session that ended lands on the
    // login page: "please log in first"). A 4xx is a refusal of this photo: sending it again
    // will not help. A 5xx (e.g. 503 "could not be saved") may pass on a retry.
    var refusal = content.querySelector(".photo-error") || content.querySelector("#error [role=alert]") ||
      content.querySelector(".flash");
    var said = refusal && refusal.textContent.trim();
    var retryable = !(xhr.status >= 400 && xhr.status < 500);
    failTile(tile, said || text("failed", { status: xhr.status }), retryable ? retry : null);
    updateCount(group);
  }

  window.PhotoUpload = {
    add: function (tile, upload) { enqueue(function () { return prepareAndSend(tile, upload); }); }
  };
})();
