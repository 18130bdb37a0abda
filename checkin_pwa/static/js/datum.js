// WGS-84 <-> GCJ-02, for drawing on AMap / Tencent tiles (which are in GCJ-02) and for
// reading a moved pin back. Positions are stored and judged in WGS-84 only.
//
// Written by hand on purpose: no maintained, dependency-free package does this, and the
// algorithm is the widely published public one (Krasovsky 1940 ellipsoid constants, the
// same as googollee/eviltransform and wandergis/coordtransform). It mirrors
// checkin_pwa/domain/geo.py operation for operation so that the browser and the server
// give the same numbers (tests/browser/test_datum_js.py checks this to 1e-9 degree).
// Outside mainland China's bounding box GCJ-02 is WGS-84.
(function () {
  "use strict";

  var A = 6378245.0;
  var EE = 0.00669342162296594323;
  var PI = Math.PI;

  function outsideChina(lat, lon) {
    return !(73.66 < lon && lon < 135.05 && 3.86 < lat && lat < 53.55);
  }

  function transformLat(x, y) {
    var ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
    ret += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    ret += (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0;
    ret += (160.0 * Math.sin(y / 12.0 * PI) + 320 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
    return ret;
  }

  function transformLon(x, y) {
    var ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
    ret += (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0;
    ret += (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0;
    ret += (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
    return ret;
  }

  function wgs84ToGcj02(lat, lon) {
    lat = Number(lat);
    lon = Number(lon);
    if (outsideChina(lat, lon)) {
      return [lat, lon];
    }
    var dLat = transformLat(lon - 105.0, lat - 35.0);
    var dLon = transformLon(lon - 105.0, lat - 35.0);
    var radLat = lat / 180.0 * PI;
    var sinLat = Math.sin(radLat);
    var magic = 1 - EE * (sinLat * sinLat);
    var sqrtMagic = Math.sqrt(magic);
    dLat = (dLat * 180.0) / ((A * (1 - EE)) / (magic * sqrtMagic) * PI);
    dLon = (dLon * 180.0) / (A / sqrtMagic * Math.cos(radLat) * PI);
    return [lat + dLat, lon + dLon];
  }

  // No closed form: fixed-point iteration, well under a centimetre after a few steps.
  function gcj02ToWgs84(lat, lon) {
    lat = Number(lat);
    lon = Number(lon);
    var tolerance = 1e-9;
    var guessLat = lat;
    var guessLon = lon;
    for (var i = 0; i < 30; i += 1) {
      var shifted = wgs84ToGcj02(guessLat, guessLon);
      var dLat = shifted[0] - lat;
      var dLon = shifted[1] - lon;
      if (Math.abs(dLat) < tolerance && Math.abs(dLon) < tolerance) {
        break;
      }
      guessLat -= dLat;
      guessLon -= dLon;
    }
    return [guessLat, guessLon];
  }

  window.CheckinDatum = Object.freeze({ wgs84ToGcj02: wgs84ToGcj02, gcj02ToWgs84: gcj02ToWgs84 });
})();
