"""Plan import (shared/docs/plan-import.md): the document's checks, worded for people, and
what an import does to the database."""
from __future__ import annotations

import copy
import datetime as dt
import json
import math
from pathlib import Path

import pytest
from flask_babel import force_locale
from jsonschema import Draft202012Validator
from werkzeug.security import check_password_hash

from checkin_pwa.domain import plan_import as domain
from checkin_pwa.domain.plan_import import NotADocument, parse_document, validate
from checkin_pwa.extensions import db
from checkin_pwa.models import Agency, AuditPlan, Auditor, CheckEvent, Enterprise, PlanSite, TeamMember
from checkin_pwa.words import plan_import as import_words
from checkin_pwa.services.plan_import import WrongAgency, import_plans

from . import factories

EXAMPLE = Path(__file__).parent / "data" / "plans_example.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def where(document) -> list[tuple[str, str]]:
    return [(issue.where, issue.code) for issue in validate(document)]


def english(document) -> list[str]:
    with force_locale("en"):
        return import_words.render_issues(validate(document))


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


# --- the document: schema and domain checks (no database) --------------------------

def test_schema_is_a_valid_draft_2020_12_schema():
    Draft202012Validator.check_schema(domain.schema())


def test_the_example_document_is_valid():
    assert validate(example()) == []


def test_new_fields_are_allowed_anywhere():
    document = example()
    document["version"] = 2
    document["plans"][0]["auditor_count"] = 5
    document["plans"][0]["sites"][0]["geocoder"] = "amap"
    assert validate(document) == []


def test_an_error_names_the_exact_field_and_the_bounds(app_context, app):
    document = example()
    document["plans"] = [copy.deepcopy(document["plans"][0]) for _ in range(4)]
    for index, plan in enumerate(document["plans"]):
        plan["plan_no"] = f"P-{index}"
    document["plans"][3]["sites"][0]["lat"] = 91
    assert english(document) == ["plans[3].sites[0].lat: must be between -90 and 90"]


def test_errors_are_worded_in_chinese_by_default(app_context, app):
    document = example()
    document["plans"][0]["sites"][0]["lon"] = 181
    document["plans"][0]["team"][0]["role"] = "boss"
    with force_locale("zh_CN"):
        lines = import_words.render_issues(validate(document))
    assert lines == [
        "plans[0].sites[0].lon: 必须在 -180 到 180 之间",
        "plans[0].team[0].role: 必须是以下之一：leader, member, expert, intern, remote",
    ]


def test_all_errors_are_collected_in_document_order(app_context, app):
    document = example()
    second = copy.deepcopy(document["plans"][0])
    second["plan_no"] = "P-2"
    document["plans"].append(second)
    second["team"][1]["phone"] = "1380000000"  # 10 digits
    document["plans"][0]["mode"] = "hybrid"
    document["plans"][0]["start"] = "2026-08-18 08:30"
    document["auditors"][1]["id_type"] = "passport"
    assert english(document) == [
        "auditors[1].id_type: must be one of: id_card, other",
        "plans[0].start: must be an ISO 8601 date and time with a UTC offset, e.g. 2021-08-18T08:30:00+08:00",
        "plans[0].mode: must be one of: onsite, combined, remote",
        "plans[1].team[1].phone: must be an 11-digit mobile number starting with 1",
    ]


def test_missing_fields_are_named_by_their_own_path():
    document = example()
    del document["plans"][0]["start"]
    del document["plans"][0]["team"][2]["role"]
    del document["agency"]["code"]
    # A missing field sorts after its object's fields that are there.
    assert where(document) == [
        ("agency.code", "required"),
        ("plans[0].team[2].role", "required"),
        ("plans[0].start", "required"),
    ]


@pytest.mark.parametrize("field, value, code", [
    ("plan_no", 123, "type_string"),
    ("required", "yes", "type_boolean"),
    ("sites", {"address": "x"}, "type_array"),
    ("sites", [], "too_few_items"),
    ("team", [], "too_few_items"),
    ("status", "done", "enum"),
    ("plan_no", "P" * 65, "too_long"),
    ("plan_no", "   ", "blank"),
    ("start", "2026-08-18T08:30:00", "datetime_offset"),
    ("start", "2026-02-30T08:30:00+08:00", "datetime_invalid"),
    ("start", "2026-08-18T08:30:00+15:00", "datetime_invalid"),
    ("timezone", "Mars/Olympus_Mons", "timezone"),
    ("confidential", None, "type_boolean"),
])
def test_wrong_values_are_refused_with_a_reason(field, value, code):
    document = example()
    document["plans"][0][field] = value
    assert where(document) == [(f"plans[0].{field}", code)]


def test_a_document_that_is_not_an_object_is_refused():
    assert where([]) == [("", "type_object")]
    assert where({"agency": "x", "plans": {}}) == [("agency", "type_object"), ("plans", "type_array")]


def test_end_before_or_at_start_is_refused(app_context, app):
    document = example()
    document["plans"][0]["end"] = "2026-08-18T08:00:00+08:00"
    assert english(document) == ["plans[0].end: must be later than start (2026-08-18T08:30:00+08:00)"]
    # The same instant written in another offset is not later either.
    document["plans"][0]["end"] = "2026-08-18T00:30:00Z"
    assert where(document) == [("plans[0].end", "end_before_start")]


def test_a_plan_number_used_twice_in_one_document_is_refused(app_context, app):
    document = example()
    document["plans"].append(copy.deepcopy(document["plans"][0]))
    assert english(document) == ["plans[1].plan_no: P-2026-000123 is already used by plans[0] in this document"]


def test_a_phone_twice_on_one_team_or_in_auditors_is_refused():
    document = example()
    document["plans"][0]["team"][3]["phone"] = "13800000002"
    document["auditors"][4]["phone"] = "13800000001"
    assert where(document) == [
        ("auditors[4].phone", "duplicate_auditor"),
        ("plans[0].team[3].phone", "duplicate_team_phone"),
    ]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_once_with_their_path(app_context, app, value):
    document = example()
    document["plans"][0]["sites"][0]["lat"] = value
    assert english(document) == [
        "plans[0].sites[0].lat: must be a finite number (NaN and Infinity are not allowed)"
    ]


def test_nan_written_in_the_json_text_is_found_too():
    text = EXAMPLE.read_text(encoding="utf-8").replace('"lat": 41.1256', '"lat": NaN')
    assert where(parse_document(text.encode())) == [("plans[0].sites[0].lat", "not_finite")]


def test_zero_zero_is_not_a_location_but_zero_on_one_axis_is():
    document = example()
    document["plans"][0]["sites"][0].update(lat=0, lon=0.0)
    assert where(document) == [("plans[0].sites[0]", "zero_coordinates")]
    document["plans"][0]["sites"][0].update(lat=0, lon=126.1865)
    assert where(document) == []


def test_lat_without_lon_is_refused():
    document = example()
    del document["plans"][0]["sites"][0]["lon"]
    assert where(document) == [("plans[0].sites[0].lon", "required_with")]


def test_coordinates_must_be_numbers():
    document = example()
    document["plans"][0]["sites"][0]["lat"] = "41.1256"
    document["plans"][0]["sites"][0]["lon"] = True
    assert where(document) == [("plans[0].sites[0].lat", "type_number"), ("plans[0].sites[0].lon", "type_number")]


@pytest.mark.parametrize("raw, code", [
    (b"", "empty"),
    (b"  \n", "empty"),
    (b"\xff\xfe{}", "not_utf8"),
    (b'{"agency": ', "not_json"),
    (b"[]", "not_object"),
    (b'"plans"', "not_object"),
    (b"[" * 100_000, "not_json_structure"),
])
def test_bytes_that_are_not_a_json_object_are_named(raw, code):
    with pytest.raises(NotADocument) as caught:
        parse_document(raw)
    assert caught.value.code == code


def test_a_parse_error_says_where(app_context, app):
    with pytest.raises(NotADocument) as caught:
        parse_document(b'{\n  "agency": }')
    with force_locale("en"):
        assert import_words.render_not_a_document(caught.value) == \
            "The document is not valid JSON (line 2, column 13)."


def test_a_utf8_byte_order_mark_is_accepted():
    assert parse_document(b"\xef\xbb\xbf" + EXAMPLE.read_bytes()) == example()


# --- importing ----------------------------------------------------------------------

def test_import_creates_the_plan_its_sites_team_and_accounts(app_context, app):
    summary = import_plans(example())
    assert summary.accepted
    assert summary.created == ["P-2026-000123"] and summary.updated == []
    assert summary.auditors_created == [f"1380000000{n}" for n in range(1, 6)]
    plan = db.session.scalar(db.select(AuditPlan))
    assert plan.agency.code == "CNCA-R-2002-117"
    assert plan.enterprise.name == "吉林省某某股份有限公司" and plan.enterprise.contact == "张某"
    assert plan.project_levels == ["管理体系认证", "质量管理体系认证", "ISO9001"]
    assert plan.required and plan.mode == "onsite" and plan.status == "valid"
    assert plan.timezone == "Asia/Shanghai"
    assert plan.start_utc == dt.datetime(2026, 8, 18, 0, 30, tzinfo=dt.timezone.utc)
    assert plan.end_utc == dt.datetime(2026, 8, 20, 7, 30, tzinfo=dt.timezone.utc)
    assert plan.utc_offset_minutes == 480


def test_r1_new_accounts_get_the_initial_password_and_must_change_it(app_context, app):
    import_plans(example())
    zhang = db.session.scalar(db.select(Auditor).filter_by(phone="13800000001"))
    li = db.session.scalar(db.select(Auditor).filter_by(phone="13800000002"))
    assert zhang.must_change_password and li.must_change_password
    assert zhang.password_hash.startswith("scrypt:")
    assert check_password_hash(zhang.password_hash, "Init#2021a")
    # No initial_password in the document: the body's default from the config.
    assert check_password_hash(li.password_hash, app.config["DEFAULT_INITIAL_PASSWORD"])
    assert li.id_type == "other" and li.id_number == "P1234567"


def test_r1_an_existing_password_is_never_overwritten(app_context, app):
    person = factories.auditor(name="旧名字", phone="13800000001")
    old_hash = person.password_hash
    db.session.commit()
    summary = import_plans(example())
    assert "13800000001" not in summary.auditors_created
    db.session.refresh(person)
    assert person.password_hash == old_hash
    assert not person.must_change_password
    assert person.name == "张三"  # the body may correct the name


def test_an_auditor_of_another_body_is_refused_at_each_place_and_nothing_changes(app_context, app):
    """An auditor practises for one body at a time: a document naming another body's
    account (in auditors, on a team) is refused there, and the account stays as it was."""
    other = Agency(code="CNCA-R-2003-001", name="另一家认证机构")
    db.session.add(other)
    db.session.flush()
    person = factories.auditor(name="另一家的张三", phone="13800000001")
    person.agency_id = other.id
    db.session.commit()
    document = example()
    document["plans"].append({**copy.deepcopy(document["plans"][0]), "plan_no": "P-2026-000124",
                              "team": [{"phone": "13800000002", "role": "leader"},
                                       {"phone": "13800000001", "role": "member"}]})
    summary = import_plans(document)
    assert [(issue.where, issue.code) for issue in summary.refused] == [
        ("auditors[0].phone", "auditor_of_other_body"),
        ("plans[0].team[0].phone", "auditor_of_other_body"),
        ("plans[1].team[1].phone", "auditor_of_other_body"),
    ]
    with force_locale("en"):
        assert import_words.render_issues(summary.refused)[0] == (
            "auditors[0].phone: 13800000001 is an auditor of another certification body; "
            "an auditor practises for one body at a time")
    db.session.expire_all()
    assert count(AuditPlan) == 0 and count(TeamMember) == 0
    assert (person.name, person.agency_id) == ("另一家的张三", other.id)


def test_an_auditor_of_no_body_yet_joins_the_body_that_names_them(app_context, app):
    person = factories.auditor(phone="13800000001")
    person.agency_id = None
    db.session.commit()
    assert import_plans(example()).accepted
    db.session.expire_all()
    assert person.agency.code == "CNCA-R-2002-117"


def test_a_dry_run_says_what_would_change_and_writes_nothing(app_context, app):
    factories.agency("CNCA-R-2002-117")
    db.session.commit()
    first = import_plans(example(), dry_run=True)
    assert first.created == ["P-2026-000123"] and first.changes[0].created
    db.session.expire_all()
    assert count(AuditPlan) == count(Auditor) == count(Enterprise) == 0
    done = []
    assert import_plans(example(), progress=lambda *step: done.append(step)).digest() == first.digest()
    assert done[-1] == (1, 1)
    changed = example()
    changed["plans"][0]["remarks"] = "改为远程"
    changed["plans"][0]["team"].pop()
    again = import_plans(changed, dry_run=True)
    assert again.updated == ["P-2026-000123"]
    assert again.changes[0].fields == ("remarks", "team")
    db.session.expire_all()
    assert db.session.scalar(db.select(AuditPlan.remarks)) == example()["plans"][0]["remarks"]
    same = import_plans(example(), dry_run=True)
    assert same.changes[0].fields == ()


def test_plans_written_in_batches_are_the_same_as_written_at_once(app_context, app):
    document = example()
    document["plans"] = [{**copy.deepcopy(document["plans"][0]), "plan_no": f"P-2026-{n:06d}"} for n in range(5)]
    batched = import_plans(document, flush_every=2)
    db.session.expire_all()
    rows = [(plan.plan_no, [site.address for site in plan.sites], [m.auditor.phone for m in plan.team])
            for plan in db.session.scalars(db.select(AuditPlan).order_by(AuditPlan.plan_no))]
    assert len(rows) == 5 and rows[0][1:] == rows[4][1:] and len(rows[0][2]) == 5
    again = import_plans(document, flush_every=None, dry_run=True)
    assert again.updated == batched.created and not any(change.fields for change in again.changes)


def test_a_declined_confirmation_writes_nothing(app_context, app):
    summary = import_plans(example(), confirm=lambda summary: False)
    assert summary.held and summary.created == ["P-2026-000123"]
    db.session.expire_all()
    assert count(AuditPlan) == 0


def test_r3_team_members_keep_their_roles_and_order(app_context, app):
    import_plans(example())
    plan = db.session.scalar(db.select(AuditPlan))
    assert [(member.auditor.phone, member.role) for member in plan.team] == [
        ("13800000001", "leader"), ("13800000002", "member"), ("13800000003", "expert"),
        ("13800000004", "intern"), ("13800000005", "remote"),
    ]


def test_r15_a_multi_site_plan_keeps_every_address_and_the_unlocated_one(app_context, app):
    import_plans(example())
    plan = db.session.scalar(db.select(AuditPlan))
    assert [(site.address, site.lat, site.lon) for site in plan.sites] == [
        ("吉林省集安市工业园区1号", 41.1256, 126.1865),
        ("吉林省通化市某某路2号", None, None),
    ]


def test_r2_a_remote_plan_is_imported_as_remote(app_context, app):
    document = example()
    document["plans"][0]["mode"] = "remote"
    import_plans(document)
    assert db.session.scalar(db.select(AuditPlan)).mode == "remote"


def test_reimport_updates_the_plan_and_never_duplicates_it(app_context, app):
    import_plans(example())
    plan = db.session.scalar(db.select(AuditPlan))
    site_ids = [site.id for site in plan.sites]
    leader_row = plan.team[0].id
    document = example()
    entry = document["plans"][0]
    entry["activity"] = "监督审核"
    entry["end"] = "2026-08-21T12:00:00+08:00"
    entry["status"] = "changed"
    entry["enterprise"]["contact"] = "王某"
    entry["sites"][1].update(lat=41.7283, lon=125.9397)  # now located
    entry["team"] = [{"phone": "13800000001", "role": "leader"}, {"phone": "13800000003", "role": "member"}]
    document["auditors"][1]["name"] = "李四四"

    summary = import_plans(document)

    assert summary.created == [] and summary.updated == ["P-2026-000123"] and summary.auditors_created == []
    assert (count(AuditPlan), count(Enterprise), count(Agency), count(Auditor)) == (1, 1, 1, 5)
    db.session.expire_all()
    plan = db.session.scalar(db.select(AuditPlan))
    assert plan.activity == "监督审核" and plan.status == "changed"
    assert plan.end_utc == dt.datetime(2026, 8, 21, 4, 0, tzinfo=dt.timezone.utc)
    assert plan.enterprise.contact == "王某"
    assert [site.id for site in plan.sites] == site_ids
    assert (plan.sites[1].lat, plan.sites[1].lon) == (41.7283, 125.9397)
    assert [(m.auditor.phone, m.role) for m in plan.team] == [("13800000001", "leader"), ("13800000003", "member")]
    assert plan.team[0].id == leader_row
    assert count(TeamMember) == 2 and count(PlanSite) == 2
    assert db.session.scalar(db.select(Auditor).filter_by(phone="13800000002")).name == "李四四"


def test_the_same_document_twice_gives_the_same_rows(app_context, app):
    import_plans(example())
    before = [count(model) for model in (Agency, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember)]
    assert import_plans(example()).updated == ["P-2026-000123"]
    assert [count(model) for model in (Agency, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember)] == before


def _check_in(plan, site, signer) -> CheckEvent:
    event = CheckEvent(plan_id=plan.id, kind="in", signer_id=signer.id, device_lat=41.1256,
                       device_lon=126.1865, chosen_lat=41.1256, chosen_lon=126.1865,
                       nearest_site_id=site.id, nearest_site_distance_m=0.0)
    db.session.add(event)
    db.session.commit()
    return event


def test_reimport_keeps_check_events_and_the_site_they_point_at(app_context, app):
    import_plans(example())
    plan = db.session.scalar(db.select(AuditPlan))
    signer = plan.team[1].auditor
    event = _check_in(plan, plan.sites[0], signer)
    site_id = plan.sites[0].id
    # The body moves the plan to other addresses and drops the signer from the team.
    document = example()
    entry = document["plans"][0]
    entry["sites"] = [{"address": "吉林省通化市新地址9号", "lat": 41.7283, "lon": 125.9397}]
    entry["team"] = [member for member in entry["team"] if member["phone"] != signer.phone]

    assert import_plans(document).updated == ["P-2026-000123"]

    db.session.expire_all()
    assert count(CheckEvent) == 1
    kept = db.session.get(CheckEvent, event.id)
    assert kept.nearest_site_id == site_id
    assert kept.nearest_site.address == "吉林省集安市工业园区1号"  # still names the place judged
    assert kept.signer.phone == signer.phone
    plan = db.session.scalar(db.select(AuditPlan))
    # The document's site first; the one with a record is kept after it.
    assert [site.address for site in plan.sites] == ["吉林省通化市新地址9号", "吉林省集安市工业园区1号"]


def test_reimport_with_a_reworded_address_keeps_the_site_row(app_context, app):
    import_plans(example())
    plan = db.session.scalar(db.select(AuditPlan))
    site_id = plan.sites[0].id
    _check_in(plan, plan.sites[0], plan.team[0].auditor)
    document = example()
    document["plans"][0]["sites"][0]["address"] = "吉林省集安市工业园区一号"  # same coordinates
    import_plans(document)
    db.session.expire_all()
    plan = db.session.scalar(db.select(AuditPlan))
    assert [site.id for site in plan.sites][0] == site_id
    assert plan.sites[0].address == "吉林省集安市工业园区一号"
    assert len(plan.sites) == 2


def test_a_refused_document_changes_nothing(app_context, app):
    import_plans(example())
    before = [count(model) for model in (Agency, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember)]
    document = example()
    document["agency"]["name"] = "改名的认证中心"
    document["auditors"].append({"phone": "13900000009", "name": "新人"})
    entry = document["plans"][0]
    entry["activity"] = "不应写入"
    new_plan = copy.deepcopy(entry)
    new_plan["plan_no"] = "P-NEW"
    new_plan["sites"][0]["lat"] = 95  # one bad field refuses the whole document
    document["plans"].append(new_plan)

    summary = import_plans(document)

    assert not summary.accepted
    assert summary.created == [] and summary.updated == [] and summary.auditors_created == []
    assert [(issue.where, issue.code) for issue in summary.refused] == [("plans[1].sites[0].lat", "range")]
    db.session.expire_all()
    assert [count(model) for model in (Agency, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember)] == before
    assert db.session.scalar(db.select(AuditPlan)).activity == "再认证审核(二阶段)"
    assert db.session.scalar(db.select(Agency)).name == "北京某某认证中心有限公司"


def test_a_team_phone_needs_an_account_or_a_listing(app_context, app):
    document = example()
    del document["auditors"][4]  # 13800000005 is on the team, not listed, no account
    summary = import_plans(document)
    with force_locale("en"):
        assert summary.as_dict()["refused"] == [
            "plans[0].team[4].phone: 13800000005 is not listed in auditors and has no account yet"
        ]
    assert count(AuditPlan) == 0 and count(Auditor) == 0
    factories.auditor(phone="13800000005")
    db.session.commit()
    assert import_plans(document).accepted


@pytest.mark.parametrize("start, end, start_utc, offset", [
    ("2026-08-18T08:30:00+09:00", "2026-08-18T17:00:00+09:00", dt.datetime(2026, 8, 17, 23, 30, tzinfo=dt.timezone.utc), 540),
    ("2026-08-18T08:30:00Z", "2026-08-18T17:00:00Z", dt.datetime(2026, 8, 18, 8, 30, tzinfo=dt.timezone.utc), 0),
    ("2026-08-18T08:30:00-05:00", "2026-08-18T17:00:00-05:00", dt.datetime(2026, 8, 18, 13, 30, tzinfo=dt.timezone.utc), -300),
    ("2026-08-18T08:30:00+05:45", "2026-08-18T17:00:00+05:45", dt.datetime(2026, 8, 18, 2, 45, tzinfo=dt.timezone.utc), 345),
])
def test_times_in_other_utc_offsets_are_stored_as_the_same_instant(app_context, app, start, end, start_utc, offset):
    document = example()
    document["plans"][0].update(start=start, end=end, timezone="Asia/Tokyo")
    import_plans(document)
    plan = db.session.scalar(db.select(AuditPlan))
    assert plan.start_utc == start_utc
    assert plan.end_utc - plan.start_utc == dt.timedelta(hours=8, minutes=30)
    assert plan.utc_offset_minutes == offset
    assert plan.timezone == "Asia/Tokyo"


def test_plan_numbers_are_per_body(app_context, app):
    import_plans(example())
    document = example()
    document["agency"] = {"code": "CNCA-R-2003-001", "name": "另一家认证机构"}
    for entry in document["auditors"] + document["plans"][0]["team"]:
        entry["phone"] = "139" + entry["phone"][3:]  # its own auditors
    assert import_plans(document).created == ["P-2026-000123"]
    assert count(AuditPlan) == 2 and count(Enterprise) == 2 and count(Auditor) == 10


def test_a_token_of_another_body_cannot_import_its_plans(app_context, app):
    other = Agency(code="CNCA-R-2003-001", name="另一家认证机构")
    db.session.add(other)
    db.session.commit()
    with pytest.raises(WrongAgency):
        import_plans(example(), via_agency=other)
    assert count(AuditPlan) == 0
