"""Positions and distances (R5, R15). Geodesic on the WGS-84 ellipsoid via geographiclib.

Positions are always WGS-84. GCJ-02 (the datum of AMap and Tencent tiles) is only for
drawing on such tiles: see wgs84_to_gcj02.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

from geographiclib.geodesic import Geodesic

PIN_LIMIT_M = 2000.0  # R5: the pin may move at most 2 km from the device position
DEVIATION_LIMIT_M = 5000.0  # R5: 地点偏差 beyond 5 km from the nearest planned site

_WGS84 = Geodesic.WGS84


class InvalidPosition(ValueError):
    """A position that cannot be a real one (NaN, out of range, or exactly 0, 0)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Point:
    lat: float
    lon: float


def parse_point(lat, lon) -> Point:
    """A checked WGS-84 point from untrusted input; raises InvalidPosition with a code."""
    try:
        lat_f, lon_f = float(lat), float(lon)
    except (TypeError, ValueError):
        raise InvalidPosition("not_a_number") from None
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        raise InvalidPosition("not_a_number")
    if not (-90.0 <= lat_f <= 90.0 and -180.0 <= lon_f <= 180.0):
        raise InvalidPosition("out_of_range")
    if lat_f == 0.0 and lon_f == 0.0:
        # (0, 0) is what a failed fix or a default value looks like, never an audit site.
        raise InvalidPosition("null_island")
    return Point(lat_f, lon_f)


def distance_m(a: Point, b: Point) -> float:
    """Geodesic distance in metres on WGS-84."""
    return _WGS84.Inverse(a.lat, a.lon, b.lat, b.lon, Geodesic.DISTANCE)["s12"]


def destination(origin: Point, azimuth_deg: float, metres: float) -> Point:
    """The point reached from origin along a geodesic (for tests and clamping)."""
    result = _WGS84.Direct(origin.lat, origin.lon, azimuth_deg, metres)
    return Point(result["lat2"], result["lon2"])


def pin_within_limit(device: Point, pin: Point, limit_m: float = PIN_LIMIT_M) -> bool:
    return distance_m(device, pin) <= limit_m


@dataclass(frozen=True)
class NearestSite:
    index: Optional[int]  # index into the sites given; None when none is located
    distance_m: Optional[float]

    @property
    def located(self) -> bool:
        return self.index is not None

    def deviates(self, limit_m: float = DEVIATION_LIMIT_M) -> bool:
        return self.distance_m is not None and self.distance_m > limit_m


def nearest_site(point: Point, sites: Sequence[Optional[Point]]) -> NearestSite:
    """The nearest located site (R15: any address of a multi-site plan is on site)."""
    best: NearestSite = NearestSite(None, None)
    for index, site in enumerate(sites):
        if site is None:
            continue
        d = distance_m(point, site)
        if best.distance_m is None or d < best.distance_m:
            best = NearestSite(index, d)
    return best


# --- GCJ-02 -------------------------------------------------------------------------
# No maintained Python package does this conversion; it is the widely published
# public algorithm (Krasovsky 1940 ellipsoid constants), written out here, and the same
# formula is in static/js/datum.js for the map. Outside mainland China GCJ-02 = WGS-84.
_A = 6378245.0
_EE = 0.00669342162296594323


def _outside_china(lat: float, lon: float) -> bool:
    return not (73.66 < lon < 135.05 and 3.86 < lat < 53.55)


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(p: Point) -> Point:
    if _outside_china(p.lat, p.lon):
        return p
    d_lat = _transform_lat(p.lon - 105.0, p.lat - 35.0)
    d_lon = _transform_lon(p.lon - 105.0, p.lat - 35.0)
    rad_lat = p.lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return Point(p.lat + d_lat, p.lon + d_lon)


def gcj02_to_wgs84(p: Point, tolerance_deg: float = 1e-9) -> Point:
    """Inverse by fixed-point iteration (converges to well under a centimetre)."""
    guess = p
    for _ in range(30):
        shifted = wgs84_to_gcj02(guess)
        d_lat, d_lon = shifted.lat - p.lat, shifted.lon - p.lon
        if abs(d_lat) < tolerance_deg and abs(d_lon) < tolerance_deg:
            break
        guess = Point(guess.lat - d_lat, guess.lon - d_lon)
    return guess


def points(values: Iterable[tuple[Optional[float], Optional[float]]]) -> list[Optional[Point]]:
    return [Point(lat, lon) if lat is not None and lon is not None else None for lat, lon in values]


def map_sites(sites: Iterable) -> list[dict]:
    """A plan's sites as its maps draw them (lat, lon, address), those without a position left off."""
    return [{"lat": site.lat, "lon": site.lon, "address": site.address}
            for site in sites if site.lat is not None and site.lon is not None]
