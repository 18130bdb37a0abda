// Photo bytes on the phone (R8, R17): a picked photo shrunk to a JPEG within the page's byte
// budget (data-wire-max-bytes of section#photos: lower quality first, then a smaller size,
// never below 1280 px), carrying the original's EXIF byte for byte; HEIC/HEIF decoded by
// libheif, fetched the first time one is picked; the original's SHA-256. No page and no
// network here: photos.js draws the tiles, photo-upload.js sends what this makes.
// window.CheckinPhotos: shrink, spliceExif, readBytes, sha256Hex.
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
  // The copy is sent only if it is at most this share of the original's bytes. Saving less
  // is not worth re-encoding: the original sent as it is is the best evidence (the server
  // can match its SHA-256 with the phone's), and a small photo loses quality for little.
  var WORTH_SHRINKING = 0.8;

  // The page's settings: section#photos (templates/photos/_photos.html).
  function section() { return document.getElementById("photos"); }

  function wireBudget() {
    var root = section();
    var bytes = root ? parseInt(root.dataset.wireMaxBytes, 10) : NaN;
    return bytes > 0 ? bytes : WIRE_MAX_BYTES;
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

  window.CheckinPhotos = { shrink: shrink, spliceExif: spliceExif, readBytes: readBytes, sha256Hex: sha256Hex };
})();
