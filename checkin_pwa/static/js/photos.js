// Meeting and site photos on the phone (R8): progressive enhancement over the plain forms of
// templates/photos/_photos.html. Without this file every group still works through its form.
//
// With it, each chosen file gets a tile at once (preview, progress bar), is shrunk to a JPEG
// of at most the page's byte budget (data-wire-max-bytes: lower quality first, then a smaller
// size, never below 1280 px) that keeps the original's EXIF (the evidence the server reads,
// R17), shows the bytes it will send, and goes up alone in its own request (one photo per request, as the server expects), one after the
// other: a phone on a poor network does better with one upload at a time, and decoding
// several 12 MP photos at once can crash a phone's tab. Errors are shown per photo; the
// others carry on. The server re-checks everything (type, size, counts, team): this is
// convenience, not the guard.
//
// Hooks (the contract): section#photos, .photo-group[data-group][data-max][data-min],
// .photo-list, form.photo-add with input[data-photo-input], li.photo-tile[data-delete-url],
// form.photo-delete. Texts come from data-msg-* attributes of section#photos (Babel);
// the Chinese below is only the fallback.
(function () {
  "use strict";

  var MAX_SIDE = 1600;          // px, long side after shrinking (never upscaled)
  var JPEG_QUALITY = 0.85;
  var WIRE_MAX_BYTES = 300 * 1024; // only if the page does not say (data-wire-max-bytes)
  // Tried in order until the copy (its EXIF included) fits the budget: the quality first, at
  // the full side, down to 0.55, where artefacts start to show on text and faces; then the
  // side at that quality; at 1280 px (the least an auditor's photo keeps) the quality again.
  var LADDER = [[1600, 0.85], [1600, 0.75], [1600, 0.65], [1600, 0.55], [1440, 0.55],
                [1280, 0.55], [1280, 0.45], [1280, 0.35], [1280, 0.25]];
  var LONG_PRESS_MS = 600;
  var MOVE_TOLERANCE_PX = 10;   // a press that moves more is a scroll, not a long press
  var UPLOAD_TIMEOUT_MS = 300000; // a 2 MB HEIC on a 2G link can take minutes
  var STALL_MS = 10000; // no byte moved and no answer for this long: the outbox keeps it (same key)
  // The copy is sent only if it is at most this share of the original's bytes. Saving less
  // is not worth re-encoding: the original sent as it is is the best evidence (the server
  // can match its SHA-256 with the phone's), and a small photo loses quality for little.
  var WORTH_SHRINKING = 0.8;

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

  function wireBudget() {
    var root = section();
    var bytes = root ? parseInt(root.dataset.wireMaxBytes, 10) : NaN;
    return bytes > 0 ? bytes : WIRE_MAX_BYTES;
  }

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

  // --- Bytes: find the original's EXIF and carry it into the shrunk JPEG ----------------
  // Written by hand on purpose: no maintained small library does this (piexifjs has been
  // unmaintained since 2019 and parses the whole TIFF structure, which we do not need). We
  // copy the EXIF block byte for byte: nothing is parsed or rewritten, so whatever the
  // server's reader finds in the original, it finds in what we send.

  function asBytes(data) {
    if (data instanceof Uint8Array) return data;
    if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return new Uint8Array(data);
  }

  function isJpeg(b) { return b.length > 3 && b[0] === 0xFF && b[1] === 0xD8 && b[2] === 0xFF; }
  function isPng(b) {
    return b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4E && b[3] === 0x47 &&
      b[4] === 0x0D && b[5] === 0x0A && b[6] === 0x1A && b[7] === 0x0A;
  }
  function isWebp(b) { return b.length > 12 && ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 4) === "WEBP"; }
  function ascii(b, at, n) {
    var s = "";
    for (var i = at; i < at + n && i < b.length; i++) s += String.fromCharCode(b[i]);
    return s;
  }
  var EXIF_ID = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0", the APP1 identifier
  function startsWith(b, at, prefix) {
    if (at + prefix.length > b.length) return false;
    for (var i = 0; i < prefix.length; i++) if (b[at + i] !== prefix[i]) return false;
    return true;
  }
  function isTiff(b, at) { // "II*\0" or "MM\0*": the start of EXIF's TIFF structure
    return startsWith(b, at, [0x49, 0x49, 0x2A, 0x00]) || startsWith(b, at, [0x4D, 0x4D, 0x00, 0x2A]);
  }

  // The JPEG's header segments, in order, up to the start of scan: [{marker, start, end}].
  // Stops (returning what it has) at anything malformed: we never read out of bounds.
  function jpegSegments(b) {
    var out = [];
    if (!isJpeg(b)) return out;
    var i = 2;
    while (i + 4 <= b.length) {
      if (b[i] !== 0xFF) break;
      var marker = b[i + 1];
      if (marker === 0xFF) { i += 1; continue; }                      // fill byte
      if (marker === 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { i += 2; continue; } // no length
      var length = (b[i + 2] << 8) | b[i + 3];
      if (length < 2 || i + 2 + length > b.length) break;
      out.push({ marker: marker, start: i, end: i + 2 + length });
      if (marker === 0xDA || marker === 0xD9) break;                 // start of scan, or end
      i += 2 + length;
    }
    return out;
  }

  function app1Exif(tiff) { // an APP1 segment holding `tiff` (EXIF's TIFF structure)
    var length = 2 + EXIF_ID.length + tiff.length;
    if (length > 0xFFFF) return null; // cannot fit one segment: leave it out
    var seg = new Uint8Array(2 + length);
    seg[0] = 0xFF; seg[1] = 0xE1; seg[2] = length >> 8; seg[3] = length & 0xFF;
    seg.set(EXIF_ID, 4);
    seg.set(tiff, 4 + EXIF_ID.length);
    return seg;
  }

  // The original's EXIF as a complete JPEG APP1 segment, or null. A JPEG's own APP1 is taken
  // as it is; a PNG's eXIf chunk and a WebP's EXIF chunk hold the same TIFF structure.
  function exifSegment(original) {
    var b = asBytes(original);
    var i, length, type;
    if (isJpeg(b)) {
      var segments = jpegSegments(b);
      for (i = 0; i < segments.length; i++) {
        var s = segments[i];
        if (s.marker === 0xE1 && startsWith(b, s.start + 4, EXIF_ID)) return b.slice(s.start, s.end);
      }
      return null;
    }
    if (isPng(b)) {
      i = 8;
      while (i + 12 <= b.length) {
        length = ((b[i] << 24) >>> 0) + (b[i + 1] << 16) + (b[i + 2] << 8) + b[i + 3];
        type = ascii(b, i + 4, 4);
        if (i + 12 + length > b.length || type === "IEND") break;
        if (type === "eXIf" && isTiff(b, i + 8)) return app1Exif(b.subarray(i + 8, i + 8 + length));
        i += 12 + length;
      }
      return null;
    }
    if (isWebp(b)) {
      i = 12;
      while (i + 8 <= b.length) {
        type = ascii(b, i, 4);
        length = b[i + 4] + (b[i + 5] << 8) + (b[i + 6] << 16) + ((b[i + 7] << 24) >>> 0);
        if (i + 8 + length > b.length) break;
        if (type === "EXIF") {
          var at = i + 8;
          if (startsWith(b, at, EXIF_ID)) at += EXIF_ID.length; // some writers keep the JPEG id
          return isTiff(b, at) ? app1Exif(b.subarray(at, i + 8 + length)) : null;
        }
        i += 8 + length + (length & 1); // chunks are padded to an even size
      }
      return null;
    }
    return null;
  }

  // A copy of `jpeg` (the canvas's output) carrying the original's EXIF segment right after
  // SOI, where the Exif standard wants it. The canvas's own APP0 (JFIF) goes: JFIF also
  // claims the place after SOI, and EXIF readers expect APP1 first. No EXIF: `jpeg` as is.
  function spliceExif(origBytes, jpegBytes) {
    return withSegment(asBytes(jpegBytes), exifSegment(origBytes));
  }

  function withSegment(jpeg, exif) {
    if (!exif || !isJpeg(jpeg)) return jpeg;
    var rest = 2;
    var segments = jpegSegments(jpeg);
    for (var i = 0; i < segments.length; i++) {
      var s = segments[i];
      var jfif = s.marker === 0xE0 && ascii(jpeg, s.start + 4, 5) === "JFIF\0";
      var ownExif = s.marker === 0xE1 && startsWith(jpeg, s.start + 4, EXIF_ID);
      if (s.start !== rest || !(jfif || ownExif)) break;
      rest = s.end;
    }
    var out = new Uint8Array(2 + exif.length + jpeg.length - rest);
    out[0] = 0xFF; out[1] = 0xD8;
    out.set(exif, 2);
    out.set(jpeg.subarray(rest), 2 + exif.length);
    return out;
  }

  // The Orientation tag (0x0112) of IFD0 in an APP1 segment: 1..8, 1 when absent or bad.
  // Read only, with every offset checked against the segment's end.
  function exifOrientation(segment) {
    var t = 4 + EXIF_ID.length; // where the TIFF structure starts in the segment
    if (!segment || !isTiff(segment, t)) return 1;
    var little = segment[t] === 0x49;
    function u16(at) { return little ? segment[at] | (segment[at + 1] << 8) : (segment[at] << 8) | segment[at + 1]; }
    function u32(at) {
      return little ? (segment[at] | (segment[at + 1] << 8) | (segment[at + 2] << 16)) + segment[at + 3] * 16777216
                    : segment[at] * 16777216 + ((segment[at + 1] << 16) | (segment[at + 2] << 8) | segment[at + 3]);
    }
    var ifd = t + u32(t + 4);
    if (ifd + 2 > segment.length) return 1;
    var count = u16(ifd);
    for (var i = 0; i < count; i++) {
      var entry = ifd + 2 + 12 * i;
      if (entry + 12 > segment.length) return 1;
      if (u16(entry) === 0x0112) {
        var value = u16(entry + 2) === 3 ? u16(entry + 8) : 0; // type SHORT
        return value >= 1 && value <= 8 ? value : 1;
      }
    }
    return 1;
  }

  // Does this browser turn a JPEG upright by its EXIF Orientation when decoding it? Current
  // ones all do (createImageBitmap's "none" option, meant to keep the raw pixels, now means
  // "from-image" in Chromium), older ones did not. Asked once, of a 2 x 1 JPEG made here
  // with Orientation 6 (turn a quarter clockwise): turned, it comes back 1 x 2.
  var turnsJpegs = null;
  function browserTurnsJpegs() {
    if (!turnsJpegs) {
      turnsJpegs = (async function () {
        var canvas = document.createElement("canvas");
        canvas.width = 2; canvas.height = 1;
        canvas.getContext("2d").fillRect(0, 0, 2, 1);
        var jpeg = await canvasJpeg(canvas);
        // TIFF, big-endian: header, IFD0 at 8 with one entry (Orientation, SHORT, 1, 6), no next IFD.
        var tiff = new Uint8Array([0x4D, 0x4D, 0, 0x2A, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
        var probe = withSegment(await readBytes(jpeg), app1Exif(tiff));
        var bitmap = await createImageBitmap(new Blob([probe], { type: "image/jpeg" }));
        var turned = bitmap.width === 1 && bitmap.height === 2;
        if (bitmap.close) bitmap.close();
        return turned;
      })().catch(function () { return true; });
    }
    return turnsJpegs;
  }

  // Draw `bitmap`, shown upright, back into the camera's raw layout for `orientation`, so
  // the EXIF carried unchanged (Orientation included) still describes the pixels sent and
  // the server turns them upright exactly once. (x, y) upright -> raw, per Orientation:
  // 2 mirror, 3 half turn, 4 flip, 5 transpose, 7 transverse are their own inverse;
  // 6 (shown a quarter clockwise) goes back a quarter anticlockwise, 8 the other way.
  function drawRaw(ctx, bitmap, orientation, W, H) {
    var m = {
      2: [-1, 0, 0, 1, W, 0], 3: [-1, 0, 0, -1, W, H], 4: [1, 0, 0, -1, 0, H],
      5: [0, 1, 1, 0, 0, 0], 6: [0, -1, 1, 0, 0, H], 7: [0, -1, -1, 0, W, H], 8: [0, 1, -1, 0, W, 0]
    }[orientation] || [1, 0, 0, 1, 0, 0];
    ctx.setTransform(m[0], m[1], m[2], m[3], m[4], m[5]);
    var sideways = orientation >= 5;
    ctx.drawImage(bitmap, 0, 0, sideways ? H : W, sideways ? W : H);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  }

  // --- HEIC/HEIF: Chromium and most Android browsers cannot decode it ---------------------
  // The same brands as the server's domain/image_format.py (AVIF left out).
  var HEIF_BRANDS = ["heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs", "mif1", "msf1"];
  function u32be(b, at) { return b[at] * 16777216 + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]); }
  function uintbe(b, at, n) { // n = 0, 4 or 8 bytes
    var value = 0;
    for (var i = 0; i < n; i++) value = value * 256 + b[at + i];
    return value;
  }
  function isHeif(b) {
    if (b.length < 16 || ascii(b, 4, 4) !== "ftyp") return false;
    var size = u32be(b, 0);
    if (size < 16 || size > Math.min(b.length, 4096)) return false;
    var major = ascii(b, 8, 4);
    if (HEIF_BRANDS.indexOf(major) !== -1) return true;
    if (major === "avif") return false;
    for (var at = 16; at + 4 <= size; at += 4) if (HEIF_BRANDS.indexOf(ascii(b, at, 4)) !== -1) return true;
    return false;
  }

  // The first box of `type` between `from` and `to`: {body, end}, or null. Bounds checked.
  function box(b, from, to, type) {
    var at = from;
    while (at + 8 <= to) {
      var size = u32be(b, at), header = 8;
      if (size === 1) { if (at + 16 > to) return null; size = uintbe(b, at + 8, 8); header = 16; }
      else if (size === 0) size = to - at;
      if (size < header || at + size > to) return null;
      if (ascii(b, at + 4, 4) === type) return { body: at + header, end: at + size };
      at += size;
    }
    return null;
  }

  // A HEIF's EXIF as a JPEG APP1 segment, or null: the item of type "Exif" (meta/iinf) and
  // where its bytes are (meta/iloc, stored in the file). The item holds a 4-byte offset to
  // the TIFF header, then (usually "Exif\0\0" and) the TIFF structure.
  function heifExifSegment(b) {
    var meta = box(b, 0, b.length, "meta");
    if (!meta) return null;
    var iinf = box(b, meta.body + 4, meta.end, "iinf"); // meta, iinf and iloc are full boxes
    var iloc = box(b, meta.body + 4, meta.end, "iloc");
    if (!iinf || !iloc) return null;
    var id = null;
    var at = iinf.body + 4 + (b[iinf.body] === 0 ? 2 : 4);
    while (id === null && at + 8 <= iinf.end) {
      var infe = box(b, at, iinf.end, "infe");
      if (!infe) break;
      var version = b[infe.body];
      if (version >= 2) {
        var wide = version >= 3 ? 2 : 0;
        if (ascii(b, infe.body + 8 + wide, 4) === "Exif") id = uintbe(b, infe.body + 4, 2 + wide);
      }
      at = infe.end;
    }
    if (id === null) return null;
    var items = ilocItems(b, iloc) || [];
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      if (item.id !== id) continue;
      var first = item.extents[0];
      if (item.method !== 0 || item.extents.length !== 1) return null; // not a plain run of the file
      var end = first.start + first.length;
      if (first.length < 4 || end > b.length) return null;
      var tiff = first.start + 4 + u32be(b, first.start);
      if (tiff < end && !isTiff(b, tiff) && startsWith(b, tiff, EXIF_ID)) tiff += EXIF_ID.length;
      return tiff < end && isTiff(b, tiff) ? app1Exif(b.subarray(tiff, end)) : null;
    }
    return null;
  }

  // The items of an iloc box: [{id, method, extents: [{start, length}]}], or null when the box
  // is damaged (its entries run past its end). At most 4,096 items and extents are read.
  function ilocItems(b, iloc) {
    var v = b[iloc.body], p = iloc.body + 4, items = [], read = 0;
    var offsetSize = b[p] >> 4, lengthSize = b[p] & 15, baseSize = b[p + 1] >> 4, indexSize = v ? b[p + 1] & 15 : 0;
    var idSize = v < 2 ? 2 : 4;
    p += 2;
    var count = uintbe(b, p, idSize);
    p += idSize;
    for (var i = 0; i < count; i++) {
      if (p + idSize + (v ? 2 : 0) + 2 + baseSize + 2 > iloc.end || ++read > 4096) return null;
      var item = { id: uintbe(b, p, idSize), method: 0, extents: [] };
      p += idSize;
      if (v) { item.method = b[p + 1] & 15; p += 2; }
      p += 2; // data reference index
      var base = uintbe(b, p, baseSize);
      p += baseSize;
      var extents = uintbe(b, p, 2);
      p += 2;
      for (var e = 0; e < extents; e++) {
        if (p + indexSize + offsetSize + lengthSize > iloc.end || ++read > 4096) return null;
        p += indexSize;
        item.extents.push({ start: base + uintbe(b, p, offsetSize), length: uintbe(b, p + offsetSize, lengthSize) });
        p += offsetSize + lengthSize;
      }
      items.push(item);
    }
    return items;
  }

  // The boxes from `from` to `to` follow one another to `to` exactly (none runs past it).
  function boxesWhole(b, from, to) {
    var at = from;
    for (var n = 0; n < 4096 && at < to; n++) {
      if (at + 8 > to) return false;
      var size = u32be(b, at), header = 8;
      if (size === 1) { if (at + 16 > to) return false; size = uintbe(b, at + 8, 8); header = 16; }
      else if (size === 0) size = to - at;
      if (size < header || at + size > to) return false;
      at += size;
    }
    return at >= to;
  }

  // A HEIF cut short (as the server's domain/image_format.heif_cut_short): it ends inside a
  // box, or an item's data (iloc: where each tile lies) lies past its end. libheif would
  // decode what is there and paint the rest: such a file goes as it is, for the server to
  // refuse in its own words.
  function isCutOffHeif(b) {
    if (!boxesWhole(b, 0, b.length)) return true;
    var meta = box(b, 0, b.length, "meta");
    if (!meta) return false;
    if (!boxesWhole(b, meta.body + 4, meta.end)) return true;
    var iloc = box(b, meta.body + 4, meta.end, "iloc");
    if (!iloc) return false;
    var items = ilocItems(b, iloc);
    return !items || items.some(function (item) {
      return item.extents.some(function (e) { return item.method === 0 && e.start + e.length > b.length; });
    });
  }

  // The WebAssembly HEIF decoder (libheif, static/vendor), fetched the first time a HEIC is
  // picked, not before: 1.5 MB that most auditors never need, so not precached; the worker
  // keeps it once fetched (ON_DEMAND in service-worker.js). Offline before it was ever
  // fetched (or after a deploy emptied the worker's cache), loading fails and the HEIC goes as
  // it is (to the outbox, sent whole later); the next HEIC picked online tries again. Compiled once; each HEIC gets an
  // instance of its own, dropped after the decode: an instance's memory only grows (16 MB
  // at start, 86 MB after a 12 MP HEIC) and is given back only with the instance.
  var heifCompiled = null;
  function heifDecoder() {
    var url = section() && section().dataset.heifDecoder;
    if (!url) return Promise.reject(new Error("no HEIF decoder on this page"));
    if (!heifCompiled) {
      heifCompiled = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = url;
        script.onerror = function () { reject(new Error("HEIF decoder not loaded")); };
        script.onload = function () {
          // Its own URL: each file's carries the file's version.
          var wasm = section().dataset.heifWasm || url.replace(/\.js(\?.*)?$/, ".wasm");
          fetch(wasm, { credentials: "same-origin" }).then(function (response) {
            if (!response.ok) throw new Error("HEIF decoder not loaded: " + response.status);
            return response.arrayBuffer();
          }).then(function (wasm) { return WebAssembly.compile(wasm); }).then(resolve, reject);
        };
        document.head.append(script);
      });
      heifCompiled.catch(function () { heifCompiled = null; });
    }
    return heifCompiled.then(function (compiled) {
      // The module's set-up expects its instance at once (an asynchronous instantiateWasm
      // breaks it): instantiating a compiled module is quick, and whole when the call returns.
      var ready = false, lib = null;
      lib = window.libheif({
        instantiateWasm: function (imports, receive) { return receive(new WebAssembly.Instance(compiled, imports), compiled); },
        onRuntimeInitialized: function () { ready = true; },
        print: function () {}, printErr: function () {}
      });
      if (!ready || !lib.HeifDecoder) throw new Error("HEIF decoder not started");
      return lib;
    });
  }

  // The HEIF's primary image, decoded upright (libheif applies its rotation and mirroring),
  // as an ImageBitmap.
  async function decodeHeif(bytes) {
    var lib = await heifDecoder();
    var decoder = new lib.HeifDecoder();
    var images = [];
    try {
      images = decoder.decode(bytes) || [];
      var image = images.filter(function (one) { return one.is_primary(); })[0] || images[0];
      if (!image) throw new Error("no image in this HEIF");
      var width = image.get_width(), height = image.get_height();
      var pixels = new ImageData(width, height);
      await new Promise(function (resolve, reject) {
        image.display(pixels, function (done) { if (done) resolve(); else reject(new Error("HEIF not decoded")); });
      });
      return await createImageBitmap(pixels);
    } finally {
      images.forEach(function (one) { if (one.free) one.free(); });
      if (decoder.decoder && lib.heif_context_free) lib.heif_context_free(decoder.decoder);
    }
  }

  // A JPEG whose data stops before its end marker (a photo cut off while saving or copying).
  // The browser would decode what is there and we would send a whole, re-encoded image of a
  // broken photo: such a file goes up as it is, and the server refuses it in its own words.
  // Entropy-coded data escapes 0xFF as FF 00, so FF D9 after the first scan is the end.
  function isCutOffJpeg(b) {
    var segments = jpegSegments(b);
    var last = segments[segments.length - 1];
    if (!last || last.marker !== 0xDA) return true;
    for (var i = last.end; i + 1 < b.length; i++) {
      if (b[i] === 0xFF && b[i + 1] === 0xD9) return false;
    }
    return true;
  }

  function readBytes(blob) {
    if (blob.arrayBuffer) return blob.arrayBuffer().then(asBytes);
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(asBytes(reader.result)); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(blob);
    });
  }

  async function sha256Hex(bytes) {
    // crypto.subtle exists only in a secure context (HTTPS, or localhost): else no hash is
    // sent and the server records only its own.
    if (!(window.crypto && window.crypto.subtle)) return "";
    var digest = new Uint8Array(await window.crypto.subtle.digest("SHA-256", bytes));
    var hex = "";
    for (var i = 0; i < digest.length; i++) hex += (digest[i] < 16 ? "0" : "") + digest[i].toString(16);
    return hex;
  }

  function canvasJpeg(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality || JPEG_QUALITY); });
  }

  // Shrink a photo for sending: {blob, shrunk}. The copy is a JPEG with the original's EXIF
  // of at most the byte budget (wireBudget), tried along LADDER. `shrunk` is false when the
  // original goes as it is: the browser cannot decode it (a HEIC while the decoder cannot be
  // loaded), it is a cut-off JPEG, or it is within the budget and the copy would not save a
  // fifth of its bytes (WORTH_SHRINKING). An original over the budget goes as the smallest
  // copy tried even if none fits (a photo of pure noise at 1280 px): still far below it.
  //
  // HEIC/HEIF is decoded by libheif (heifDecoder) and goes as a JPEG carrying the HEIF's EXIF
  // (heifExifSegment), so the server reads its time and GPS as from the HEIC; a HEIC within
  // the budget goes as it is without loading the decoder.
  //
  // Decided for PNG and WebP: shrunk to JPEG like a camera JPEG, carrying their EXIF too.
  // A PNG from a phone is mostly a screenshot, several MB of lossless pixels; its eXIf (or
  // WebP's EXIF) chunk holds the same TIFF block as a JPEG's APP1, so the evidence survives
  // the change of format, and one rule for every format is easier to explain. Only such a
  // file whose EXIF asks to be turned goes as it is: browsers differ on whether they turn
  // PNG and WebP, and a photo turned twice is worse than a larger upload.
  async function shrink(file, knownBytes) {
    var original = knownBytes || await readBytes(file);
    var budget = wireBudget();
    var fits = file.size <= budget;
    var asItIs = { blob: file, shrunk: false };
    if (isJpeg(original) && isCutOffJpeg(original)) return asItIs;
    var heif = isHeif(original);
    if (heif && (fits || isCutOffHeif(original))) return asItIs;
    var exif = heif ? heifExifSegment(original) : exifSegment(original);
    var orientation = exifOrientation(exif);
    if (orientation !== 1 && !isJpeg(original) && !heif) return asItIs;
    var bitmap;
    try {
      bitmap = heif ? await decodeHeif(original) : await createImageBitmap(file);
    } catch (e) {
      return asItIs;
    }
    // The EXIF goes along unchanged, Orientation included, so the pixels we send must be in
    // the camera's raw layout: if they were turned upright (libheif always turns a HEIF's),
    // turn them back; the server turns them upright once.
    var unturn = orientation !== 1 && (heif || await browserTurnsJpegs());
    var best = null;
    try {
      var canvas = null, drawn = 0;
      for (var i = 0; i < LADDER.length; i++) {
        var side = LADDER[i][0];
        var scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
        var w = Math.max(1, Math.round(bitmap.width * scale));
        var h = Math.max(1, Math.round(bitmap.height * scale));
        if (!canvas || drawn !== w) {
          if (canvas) canvas.width = canvas.height = 0; // let a phone free the pixels now
          canvas = drawCopy(bitmap, w, h, unturn ? orientation : 1);
          drawn = w;
        }
        var jpeg = await canvasJpeg(canvas, LADDER[i][1]);
        if (!jpeg) break;
        var out = withSegment(await readBytes(jpeg), exif);
        if (!best || out.length < best.length) best = out;
        if (out.length <= budget) break;
      }
      if (canvas) canvas.width = canvas.height = 0;
    } finally {
      if (bitmap.close) bitmap.close();
    }
    if (!best) return asItIs;
    var copy = new Blob([best], { type: "image/jpeg" });
    if (fits ? copy.size > file.size * WORTH_SHRINKING : copy.size >= file.size) return asItIs;
    return { blob: copy, shrunk: true };
  }

  // A w x h canvas holding `bitmap` (shown upright) in the raw layout of `orientation`.
  function drawCopy(bitmap, w, h, orientation) {
    var canvas = document.createElement("canvas");
    var sideways = orientation >= 5;
    canvas.width = sideways ? h : w;
    canvas.height = sideways ? w : h;
    var ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    drawRaw(ctx, bitmap, orientation, canvas.width, canvas.height);
    return canvas;
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

  // One job at a time, in the order chosen (see the top of the file).
  var queue = Promise.resolve();
  function enqueue(job) { queue = queue.then(job).catch(function () {}); return queue; }

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
      enqueue(function () { return prepareAndSend(tile, upload); });
    });
  }

  async function prepareAndSend(tile, upload) {
    setStatus(tile, text("preparing"));
    var prepared;
    try {
      var bytes = await readBytes(upload.file);
      var hash = await sha256Hex(bytes);
      var result = await shrink(upload.file, bytes);
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
      xhr.setRequestHeader("HX-Request", "true"); // answer with the tile, not the page
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
    xhr.setRequestHeader("HX-Request", "true");
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

  window.CheckinPhotos = { shrink: shrink, spliceExif: spliceExif };
})();
