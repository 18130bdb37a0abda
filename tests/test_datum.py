"""GCJ-02: drawing WGS-84 positions on AMap / Tencent tiles, and reading a pin back.

Positions are stored in WGS-84; GCJ-02 is only for the map. A wrong conversion would
draw the auditor's pin several hundred metres off on Chinese tiles, and a wrong inverse
would store a moved pin that far from where the auditor put it.
"""
from __future__ import annotations

import pytest

from checkin_pwa.domain import geo
from checkin_pwa.domain.geo import Point

# Published WGS-84 -> GCJ-02 pairs (wgs_lat, wgs_lon, gcj_lat, gcj_lon):
# - googollee/eviltransform, python/test.py (TESTS; the same three in go/transform_test.go)
# - wandergis/coordtransform, test/app.js ("wgs84togcj02(116.404, 39.915)" -> its result
#   comment [116.41024449916938, 39.91640428150164], given there as [lon, lat])
PUBLISHED = [
    pytest.param(31.1774276, 121.5272106, 31.17530398364597, 121.531541859215, id="shanghai-eviltransform"),
    pytest.param(22.543847, 113.912316, 22.540796131694766, 113.9171764808363, id="shenzhen-eviltransform"),
    pytest.param(39.911954, 116.377817, 39.91334545536069, 116.38404722455657, id="beijing-eviltransform"),
    pytest.param(39.915, 116.404, 39.91640428150164, 116.41024449916938, id="beijing-coordtransform"),
]

# The GCJ-02 inverse of the wandergis pair as published in the same file:
# gcj02towgs84(116.404, 39.915) -> [116.39775550083061, 39.91359571849836]. That is the
# one-step approximation (error of a few metres); ours iterates, so only metres agree.
COORDTRANSFORM_ONE_STEP_INVERSE = (39.915, 116.404, 39.91359571849836, 116.39775550083061)

# Clearly outside mainland China: GCJ-02 is WGS-84 there.
OUTSIDE = [
    pytest.param(35.6812, 139.7671, id="tokyo"),
    pytest.param(51.4700, -0.4543, id="london-heathrow"),
    pytest.param(-33.8688, 151.2093, id="sydney"),
    pytest.param(40.6413, -73.7781, id="new-york-jfk"),
    pytest.param(1.3521, 103.8198, id="singapore"),
    pytest.param(55.7558, 37.6173, id="moscow"),
]


@pytest.mark.parametrize("wgs_lat, wgs_lon, gcj_lat, gcj_lon", PUBLISHED)
def test_wgs84_to_gcj02_matches_published_reference_points(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    shifted = geo.wgs84_to_gcj02(Point(wgs_lat, wgs_lon))
    # 1e-9 degree is about 0.1 mm: the same formula, not merely a close one.
    assert shifted.lat == pytest.approx(gcj_lat, abs=1e-9)
    assert shifted.lon == pytest.approx(gcj_lon, abs=1e-9)


@pytest.mark.parametrize("wgs_lat, wgs_lon, gcj_lat, gcj_lon", PUBLISHED)
def test_gcj02_to_wgs84_recovers_the_published_wgs84_point_within_a_centimetre(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    back = geo.gcj02_to_wgs84(Point(gcj_lat, gcj_lon))
    assert geo.distance_m(back, Point(wgs_lat, wgs_lon)) < 0.01


def test_gcj02_to_wgs84_is_closer_than_the_published_one_step_inverse():
    gcj_lat, gcj_lon, approx_lat, approx_lon = COORDTRANSFORM_ONE_STEP_INVERSE
    ours = geo.gcj02_to_wgs84(Point(gcj_lat, gcj_lon))
    assert geo.distance_m(ours, Point(approx_lat, approx_lon)) < 5.0
    # And ours really lands back on the GCJ-02 point it started from.
    again = geo.wgs84_to_gcj02(ours)
    assert geo.distance_m(again, Point(gcj_lat, gcj_lon)) < 0.01


def test_the_shift_in_china_is_hundreds_of_metres():
    here = Point(41.1256, 126.1865)
    shift = geo.distance_m(here, geo.wgs84_to_gcj02(here))
    assert 100.0 < shift < 1000.0


def china_grid():
    for lat10 in range(190, 531, 40):  # 19.0 .. 51.0 degrees north
        for lon10 in range(740, 1341, 50):  # 74.0 .. 134.0 degrees east
            yield Point(lat10 / 10 + 0.0123, lon10 / 10 + 0.0456)


@pytest.mark.parametrize("point", list(china_grid()), ids=lambda p: f"{p.lat:.2f},{p.lon:.2f}")
def test_round_trip_gcj02_to_wgs84_of_wgs84_to_gcj02_is_within_a_centimetre(point):
    back = geo.gcj02_to_wgs84(geo.wgs84_to_gcj02(point))
    assert geo.distance_m(point, back) < 0.01


@pytest.mark.parametrize("lat, lon", OUTSIDE)
def test_conversion_is_the_identity_outside_china(lat, lon):
    point = Point(lat, lon)
    assert geo.wgs84_to_gcj02(point) == point
    assert geo.gcj02_to_wgs84(point) == point
