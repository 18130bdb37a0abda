"""Cross-audit anomalies of the body (R21): every staff role reads them, by kind and date
range (kept in the URL), a page at a time; each row names the auditors and the numbers and
links to the plans' console pages."""
from flask import g, request, url_for

from ...domain import clock
from ...domain.anomalies import KINDS, parse_filters
from ...services import anomalies
from ...services.listing import calendar_today
from ...htmx import hx
from ...web import render_page_or_partial
from ..guard import staff_required
from . import bp, words



@bp.get("/anomalies")
@staff_required("readonly")
def anomaly_list():
    """The page, or only the list for htmx (the filters and the pager replace it)."""
    wanted, problems = parse_filters(request.args, calendar_today(clock.now()),
                                     default_days=anomalies.DEFAULT_RANGE_DAYS, max_days=anomalies.MAX_RANGE_DAYS)
    found = anomalies.body_anomalies(g.staff.agency_id, wanted.since, wanted.until, wanted.kind,
                                     request.args.get("page"))
    args = wanted.query_args()
    here = found.page.with_args(args)
    response = render_page_or_partial(
        "console/anomalies/page.html", "console/anomalies/_list.html", status=400 if problems else 200,
        found=found, wanted=wanted, kinds=KINDS, filter_args=args,
        problems=[words.problem_text(code, value) for code, value in problems])
    if request.htmx:
        hx(response, push_url=url_for("console.anomalies.anomaly_list", **here))
    return response
