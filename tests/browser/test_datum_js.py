"""static/js/datum.js gives the map the same GCJ-02 numbers as the server's geo.py."""
from __future__ import annotations

import pytest

from checkin_pwa.domain import geo
from checkin_pwa.domain.geo import Point

from ..test_datum import PUBLISHED

pytestmark = pytest.mark.browser

TOLERANCE_DEG = 1e-9

# Published pairs (sources cited in tests/test_datum.py), as plain tuples.
REFERENCE = [tuple(param.values) for param in PUBLISHED]


def grid():
    """Points across China, near the edges of its box, and outside it."""
    points = [
        (lat10 / 10 + 0.0137, lon10 / 10 + 0.0291)
        for lat10 in range(40, 541, 25)  # 4.0 .. 54.0 N
        for lon10 in range(735, 1361, 30)  # 73.5 .. 135.5 E
    ]
    points += [(41.1256, 126.1865), (3.87, 73.67), (53.54, 135.04), (35.6812, 139.7671), (51.47, -0.4543)]
    return points


def load_datum(page):
    page.goto("/login")
    page.add_script_tag(url="/static/js/datum.js")


def test_datum_js_exposes_exactly_the_two_conversions(page):
    load_datum(page)
    assert page.evaluate("Object.keys(window.CheckinDatum).sort()") == ["gcj02ToWgs84", "wgs84ToGcj02"]


def test_datum_js_matches_the_published_reference_points(page):
    load_datum(page)
    results = page.evaluate(
        "pairs => pairs.map(([lat, lon]) => window.CheckinDatum.wgs84ToGcj02(lat, lon))",
        [[wgs_lat, wgs_lon] for wgs_lat, wgs_lon, _, _ in REFERENCE],
    )
    for (_, _, gcj_lat, gcj_lon), (js_lat, js_lon) in zip(REFERENCE, results, strict=True):
        assert js_lat == pytest.approx(gcj_lat, abs=TOLERANCE_DEG)
        assert js_lon == pytest.approx(gcj_lon, abs=TOLERANCE_DEG)


def test_datum_js_gives_the_same_numbers_as_python_across_a_grid(page):
    load_datum(page)
    points = grid()
    results = page.evaluate(
        """points => points.map(([lat, lon]) => {
            const gcj = window.CheckinDatum.wgs84ToGcj02(lat, lon);
            return [gcj, window.CheckinDatum.gcj02ToWgs84(gcj[0], gcj[1])];
        })""",
        [list(p) for p in points],
    )
    assert len(results) == len(points)
    for (lat, lon), (js_gcj, js_back) in zip(points, results, strict=True):
        py_gcj = geo.wgs84_to_gcj02(Point(lat, lon))
        py_back = geo.gcj02_to_wgs84(py_gcj)
        assert js_gcj == pytest.approx([py_gcj.lat, py_gcj.lon], abs=TOLERANCE_DEG), (lat, lon)
        assert js_back == pytest.approx([py_back.lat, py_back.lon], abs=TOLERANCE_DEG), (lat, lon)
        # And the map's round trip puts a pin back within a centimetre of where it was.
        assert geo.distance_m(Point(lat, lon), Point(*js_back)) < 0.01
