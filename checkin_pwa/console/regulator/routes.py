"""The regulator's view (监管端): every body's figures for a date range (kept in the URL),
the weekly chart, and links into each body's plans, which the regulator reads on the
bodies' own pages (guard.staff_required's regulator_reads). A body's staff get 404 here."""
from flask import render_template, request

from ...domain import clock
from ...domain.anomalies import parse_filters
from ...services import anomalies, regulator
from ...services.listing import calendar_today
from ..anomalies import words as range_words
from ..board.chart import bar_chart
from ..guard import regulator_required
from . import bp


@bp.get("/regulator")
@regulator_required
def overview():
    """The same date range as the anomalies list (the last 30 days by default, at most 92)."""
    now = clock.now()
    wanted, problems = parse_filters(request.args, calendar_today(now), default_days=anomalies.DEFAULT_RANGE_DAYS,
                                     max_days=anomalies.MAX_RANGE_DAYS)
    found = regulator.overview(wanted.since, wanted.until, now)
    return render_template("console/regulator/page.html", found=found, wanted=wanted, chart=bar_chart(found.weeks),
                           problems=[range_words.problem_text(code, value) for code, value in problems if code != "bad_kind"]), \
        400 if problems else 200
