"""Today's board (今日看板) of the body: every audit of today with its team's state and how
late it is, the counts, filters kept in the URL, and a chart of exceptions per week. The
list is also a fragment the page asks for again every few seconds while it is shown."""
import time

from flask import current_app, g, request, url_for

from ...domain import clock
from ...blueprints.tasks.words import STATES, filter_error_text
from ...domain.board import parse_filters
from ...services import board
from ...services.listing import CALENDAR_ZONE
from ...htmx import hx
from ...web import render_page_or_partial
from ..guard import staff_required
from . import bp
from .chart import bar_chart

REFRESH_SECONDS = 15
# The chart reads every plan of its weeks (a large body: tens of thousands); it changes
# slowly, so each worker keeps a body's chart this long.
CHART_SECONDS = 300


@bp.get("/board")
@staff_required("readonly")
def today():
    """The page, or only the list for htmx (the filters, the pager and the page's own
    refresh replace it). The chart comes in a request of its own (board_chart)."""
    parsed = parse_filters(request.args)
    now = clock.now()
    result = board.today_board(g.staff.agency_id, parsed.filters, request.args.get("page"), now)
    args = parsed.filters.query_args()
    here = result.page.with_args(args)
    response = render_page_or_partial(
        "console/board/page.html", "console/board/_list.html",
        status=400 if parsed.errors else 200,
        board=result, parsed=parsed, filter_args=args, here=url_for("console.board.today", **here),
        errors=[filter_error_text(error) for error in parsed.errors], refresh_seconds=REFRESH_SECONDS,
        state_words=STATES, now=now, board_zone=CALENDAR_ZONE)
    if request.htmx and request.htmx.trigger != "board-list":
        # A filter or a page asked: the URL holds the question (the page's own refresh
        # leaves the history alone).
        hx(response, push_url=url_for("console.board.today", **here))
    return response


@bp.get("/board/chart")
@staff_required("readonly")
def board_chart():
    """The chart of exceptions and anomalies per week: the board's page asks for it once it is shown (htmx),
    or this is a page of its own."""
    now = clock.now()
    kept = current_app.extensions.setdefault("board_charts", {})
    key = (g.staff.agency_id, clock.local_date(now, CALENDAR_ZONE))
    found = kept.get(key)
    if found is None or time.monotonic() - found[0] > CHART_SECONDS:
        found = (time.monotonic(), board.weekly_counts(g.staff.agency_id, now))
        for old in [other for other in kept if other[1] != key[1]]:
            kept.pop(old, None)  # today's only: one per body
        kept[key] = found
    return render_page_or_partial("console/board/chart.html", "console/board/_chart.html", chart=bar_chart(found[1]))
