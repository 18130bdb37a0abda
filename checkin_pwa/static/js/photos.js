// Meeting and site photos on the phone (R8): progressive enhancement over the plain forms of
// templates/photos/_photos.html. Without this file every group still works through its form.
//
// With it, each chosen file gets a tile at once (preview, progress bar) and is shrunk on the
// phone (photo-bytes.js) and sent, one at a time, or kept in the outbox when it cannot go
// (photo-upload.js); this file draws the tiles, counts the groups, and deletes by a long
// press or a tile's button. Errors are shown per photo; the others carry on. The server
// re-checks everything (type, size, counts, team): this is convenience, not the guard.
//
// Hooks (the contract): section#photos, .photo-group[data-group][data-max][data-min],
// .photo-list, form.photo-add with input[data-photo-input], li.photo-tile[data-delete-url],
// form.photo-delete. Texts come from data-msg-* attributes of section#photos (Babel);
// the Chinese below is only the fallback.
(function () {
  "use strict";

  var LONG_PRESS_MS = 600;
  var MOVE_TOLERANCE_PX = 10;   // a press that moves more is a scroll, not a long press

  var FALLBACK = {
    full: "{group}：最多 {max} 张照片。请先删除一张再添加。",
    waiting: "等待上传",
    preparing: "正在处理照片…",
    uploading: "正在上传 {percent}%",
    network: "网络错误，照片未上传。",
    failed: "上传失败（{status}），请重试。",
    retry: "重试",
    dismiss: "移除",
    confirmDelete: "删除这张照片？",
    deleteFailed: "删除失败，请重试。",
    album: "从相册选择",
    camera: "拍照",
    size: "将发送 {sent}（原图 {original}）"
  };

  function section() { return document.getElementById("photos"); }


  // 1024-based, as the budget is: "287 kB", "4.1 MB".
  function sizeText(bytes) {
    if (bytes < 1024 * 1024) return Math.max(1, Math.round(bytes / 1024)) + " kB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function text(key, values) {
    var root = section();
    var name = "msg" + key.charAt(0).toUpperCase() + key.slice(1);
    var message = (root && root.dataset[name]) || FALLBACK[key];
    return window.CheckinWords.fill(message, values);
  }

  // --- The page ------------------------------------------------------------------------

  function groupOf(el) { return el.closest(".photo-group"); }
  function listOf(group) { return group.querySelector(".photo-list"); }
  function tiles(group, selector) { return listOf(group).querySelectorAll(".photo-tile" + (selector || "")); }
  function uploadedCount(group) {
    return tiles(group, ":not(.photo-pending):not(.photo-failed):not(.photo-retry):not(.photo-queued)").length;
  }
  // What a group holds for the limit: uploaded, on the way, and waiting for a retry.
  function heldCount(group) { return tiles(group, ":not(.photo-failed)").length; }
  function maxOf(group) { return parseInt(group.dataset.max, 10) || 0; }
  function groupTitle(group) { // the title's own words, without the "*" and the count
    var title = group.querySelector("h3");
    var words = title && title.firstChild && title.firstChild.nodeType === Node.TEXT_NODE ? title.firstChild.nodeValue : "";
    return words.trim();
  }

  function updateCount(group) {
    if (!group) return;
    var n = uploadedCount(group);
    var label = "(" + n + "/" + maxOf(group) + ")";
    group.dataset.count = String(n);
    group.classList.toggle("photo-group-short", n < (parseInt(group.dataset.min, 10) || 0));
    var counter = group.querySelector(".photo-count");
    if (counter) { counter.textContent = label; return; }
    var title = group.querySelector("h3");
    if (!title) return;
    var walker = document.createTreeWalker(title, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
      var node = walker.currentNode;
      if (/\(\d+\/\d+\)/.test(node.nodeValue)) { node.nodeValue = node.nodeValue.replace(/\(\d+\/\d+\)/, label); return; }
    }
  }

  function groupMessage(group, message) {
    var box = group.querySelector(".photo-group-message");
    if (!box) {
      box = document.createElement("p");
      box.className = "photo-group-message";
      box.setAttribute("role", "alert");
      var title = group.querySelector("h3");
      if (title) title.insertAdjacentElement("afterend", box); else group.prepend(box);
    }
    box.textContent = message || "";
    box.hidden = !message;
  }

  function csrfToken(form) {
    var input = form && form.querySelector("input[name=csrf_token]");
    if (input && input.value) return input.value;
    try { return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || ""; }
    catch (e) { return ""; }
  }

  function button(label, className, onClick) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = className;
    b.textContent = label;
    b.addEventListener("click", onClick);
    return b;
  }

  function pendingTile(file) {
    var tile = document.createElement("li");
    tile.className = "photo-tile photo-pending";
    var frame = document.createElement("div");
    frame.className = "photo-preview";
    var img = document.createElement("img");
    img.alt = file.name;
    img.src = URL.createObjectURL(file);
    // A format this browser cannot show (HEIC in Chromium): the name stands in.
    img.addEventListener("error", function () { frame.classList.add("photo-preview-none"); img.remove(); });
    var name = document.createElement("span");
    name.className = "photo-name";
    name.textContent = file.name;
    frame.append(img, name);
    tile.append(frame);
    tile._previewUrl = img.src;
    showProgress(tile);
    return tile;
  }

  // What this photo costs on the wire, shown from when it is ready until the server's tile
  // replaces this one (kept through a retry and while it waits in the outbox).
  function showSize(tile, sent, original) {
    var line = tile.querySelector(".photo-size");
    if (!line) {
      line = document.createElement("p");
      line.className = "photo-size";
      tile.querySelector(".photo-preview").insertAdjacentElement("afterend", line);
    }
    line.textContent = text("size", { sent: sizeText(sent), original: sizeText(original) });
    tile.dataset.bytesSent = String(sent);
    tile.dataset.bytesOriginal = String(original);
  }

  // The progress bar and status line of a tile on its way (again, after a retry).
  function showProgress(tile) {
    var leftover = tile.querySelectorAll(".photo-error, .photo-tile-actions");
    Array.prototype.forEach.call(leftover, function (el) { el.remove(); });
    if (tile.querySelector(".photo-progress")) return;
    var progress = document.createElement("progress");
    progress.className = "photo-progress";
    progress.max = 100;
    var status = document.createElement("p");
    status.className = "photo-status";
    status.setAttribute("aria-live", "polite");
    status.textContent = text("waiting");
    tile.append(progress, status);
  }

  function setStatus(tile, message, percent) {
    tile.querySelector(".photo-status").textContent = message;
    var progress = tile.querySelector(".photo-progress");
    if (percent === undefined) progress.removeAttribute("value"); // indeterminate
    else progress.value = percent;
  }

  function failTile(tile, message, retry) {
    tile.classList.remove("photo-pending");
    tile.classList.add(retry ? "photo-retry" : "photo-failed");
    var stale = tile.querySelectorAll(".photo-progress, .photo-status, .photo-error, .photo-tile-actions");
    Array.prototype.forEach.call(stale, function (el) { el.remove(); });
    var error = document.createElement("div");
    error.className = "photo-error";
    error.setAttribute("role", "alert");
    error.textContent = message;
    var actions = document.createElement("p");
    actions.className = "photo-tile-actions";
    if (retry) actions.append(button(text("retry"), "secondary photo-retry-button", retry));
    actions.append(button(text("dismiss"), "secondary photo-dismiss-button", function () {
      var group = groupOf(tile);
      forget(tile);
      tile.remove();
      if (group) updateCount(group);
    }));
    tile.append(error, actions);
  }

  function forget(tile) {
    if (tile._previewUrl) URL.revokeObjectURL(tile._previewUrl);
    tile._previewUrl = null;
  }

  function addFiles(group, files) {
    var form = group.querySelector("form.photo-add");
    var free = Math.max(0, maxOf(group) - heldCount(group));
    var chosen = Array.prototype.slice.call(files || []);
    var refused = chosen.length - Math.min(free, chosen.length);
    groupMessage(group, refused ? text("full", { group: groupTitle(group), max: maxOf(group), count: refused }) : "");
    chosen.slice(0, free).forEach(function (file) {
      var tile = pendingTile(file);
      listOf(group).append(tile);
      var upload = {
        url: (form && form.action) || (section() && section().dataset.uploadUrl),
        group: group.dataset.group,
        csrf: csrfToken(form),
        file: file,
        // "Also for the enterprise's other audit tasks", as ticked when the photo was chosen.
        together: Boolean(form && form.querySelector("input[data-photo-together]:checked")),
        key: window.Outbox ? window.Outbox.newKey() : "" // made before the first send (R17)
      };
      window.PhotoUpload.add(tile, upload);
    });
  }

  // The server names what changed in HX-Trigger (photos-changed); these requests are not
  // htmx's, so tell the page ourselves: the verdict line asks for itself again.
  function changed() {
    document.body.dispatchEvent(new CustomEvent("photos-changed", { bubbles: true }));
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html || "";
    return template.content;
  }

  // --- Delete: long press on a tile, or its visible button; both confirm ----------------

  function deletePhoto(tile) {
    if (!tile || tile.classList.contains("photo-deleting")) return;
    if (!window.confirm(text("confirmDelete"))) return;
    var form = tile.querySelector("form.photo-delete");
    var token = csrfToken(form);
    var body = new FormData();
    body.append("csrf_token", token);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", tile.dataset.deleteUrl || (form && form.action));
    xhr.setRequestHeader("X-CSRFToken", token);
    xhr.setRequestHeader("X-Checkin-Client", "photos");
    tile.classList.add("photo-deleting");
    function failed() {
      tile.classList.remove("photo-deleting");
      var note = tile.querySelector(".photo-delete-error");
      if (!note) {
        note = document.createElement("p");
        note.className = "photo-delete-error error";
        note.setAttribute("role", "alert");
        tile.append(note);
      }
      note.textContent = text("deleteFailed");
    }
    xhr.addEventListener("load", function () {
      if (xhr.status < 200 || xhr.status >= 300) { failed(); return; }
      var group = groupOf(tile);
      tile.remove();
      if (group) { updateCount(group); groupMessage(group, ""); } // there is room again
      changed();
    });
    xhr.addEventListener("error", failed);
    xhr.addEventListener("timeout", failed);
    xhr.send(body);
  }

  var press = null;
  var swallowClick = false; // the click that ends a long press must not open the photo

  function endPress() {
    if (!press) return;
    clearTimeout(press.timer);
    press.tile.classList.remove("photo-pressing");
    press = null;
  }

  function longPressed() {
    var tile = press.tile;
    endPress();
    swallowClick = true;
    deletePhoto(tile);
  }

  document.addEventListener("pointerdown", function (event) {
    swallowClick = false;
    endPress();
    if (event.pointerType === "mouse" && event.button !== 0) return;
    var tile = event.target.closest(".photo-tile[data-delete-url]");
    if (!tile || tile.classList.contains("photo-deleting") || event.target.closest("button, form, input, details")) return;
    tile.classList.add("photo-pressing");
    press = { tile: tile, x: event.clientX, y: event.clientY, timer: setTimeout(longPressed, LONG_PRESS_MS) };
  });
  document.addEventListener("pointermove", function (event) {
    if (press && Math.hypot(event.clientX - press.x, event.clientY - press.y) > MOVE_TOLERANCE_PX) endPress();
  });
  ["pointerup", "pointercancel"].forEach(function (type) { document.addEventListener(type, endPress); });
  // On a touch screen the long press is also the context-menu gesture (Android fires it
  // before our timer): it is ours on a tile. iOS's callout is off in CSS.
  document.addEventListener("contextmenu", function (event) {
    var tile = event.target.closest(".photo-tile[data-delete-url]");
    if (!tile || event.target.closest("details")) return;
    event.preventDefault();
    if (press && press.tile === tile) longPressed();
  });
  document.addEventListener("click", function (event) {
    if (swallowClick) { swallowClick = false; event.preventDefault(); event.stopPropagation(); }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form.photo-delete")) {
      event.preventDefault();
      deletePhoto(form.closest(".photo-tile"));
    } else if (form.matches("form.photo-add")) {
      event.preventDefault();
      var input = form.querySelector("input[data-photo-input]");
      if (input && input.files.length) addFiles(groupOf(form), input.files);
      if (input) input.value = "";
    }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-photo-input]")) return;
    var group = groupOf(input);
    if (!group) return;
    addFiles(group, input.files);
    input.value = ""; // the same photo may be chosen again later
  });

  // capture="environment" opens the camera straight away (Android and iOS): the album is
  // then out of reach, so each group gets a second input without it, several at a time.
  function enhance(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var groups = scope.matches && scope.matches(".photo-group") ? [scope] : scope.querySelectorAll(".photo-group");
    Array.prototype.forEach.call(groups, function (group) {
      if (group.dataset.enhanced) return;
      group.dataset.enhanced = "1";
      var camera = group.querySelector("input[data-photo-input]");
      if (!camera) return;
      if (!group.querySelector("input[data-photo-input]:not([capture])")) {
        // Two buttons side by side: the camera (the form's own input) and the album.
        var words = camera.closest("label") && camera.closest("label").querySelector("span");
        if (words) words.textContent = text("camera");
        var album = camera.cloneNode(false);
        album.removeAttribute("capture");
        album.removeAttribute("id");
        album.setAttribute("data-photo-album", "");
        var label = document.createElement("label");
        label.className = "button secondary photo-album";
        label.append(document.createTextNode(text("album")), album);
        (camera.closest("label") || camera).insertAdjacentElement("afterend", label);
      }
      updateCount(group);
    });
  }

  document.documentElement.classList.add("photos-js");
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  else enhance(document);
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });

  // What photo-upload.js draws with.
  window.PhotoTiles = {
    text: text, groupOf: groupOf, groupTitle: groupTitle, listOf: listOf, updateCount: updateCount,
    setStatus: setStatus, showSize: showSize, showProgress: showProgress, failTile: failTile,
    forget: forget, parse: parse, changed: changed
  };
})();
