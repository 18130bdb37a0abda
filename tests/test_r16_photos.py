"""R16 for photos: only the plan's team sees, adds or deletes its photos. To anyone else a
plan or a photo of another team looks exactly like one that does not exist (404), and
nothing is written."""
from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from checkin_pwa.extensions import db
from checkin_pwa.models import Photo

from . import factories as f
from .helpers import csrf_token_from, in_app_context, phone_of

NOT_FOUND = "未找到该页面，或您无权查看。"
PHOTO_SCRIPT = {"X-Checkin-Client": "photos"}




@pytest.fixture
def store(app):
    return app.extensions["photo_store"]


def jpeg(color=(10, 20, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), color).save(out, "JPEG")
    return out.getvalue()


def upload(client, plan_id, data, token_page="/", headers=None):
    token = csrf_token_from(client.get(token_page))
    return client.post(f"/plans/{plan_id}/photos", content_type="multipart/form-data", headers=headers or {},
                       data={"csrf_token": token, "group": "first", "photo": (io.BytesIO(data), "a.jpg")})


@pytest.fixture
def two_teams(app):
    """Team A (two members) with a photo; an outsider on team B only."""
    with in_app_context(app):
        leader, member, outsider = f.auditor(), f.auditor(), f.auditor()
        plan_a = f.plan([leader, member])
        plan_b = f.plan([outsider])
    leader_phone = phone_of(app, leader)
    assert upload(leader_phone, plan_a.id, jpeg(), f"/plans/{plan_a.id}").status_code == 201
    with in_app_context(app):
        photo = db.session.scalars(select(Photo)).one()
    return {"plan_a": plan_a, "plan_b": plan_b, "photo": photo,
            "member": phone_of(app, member), "outsider": phone_of(app, outsider), "leader": leader_phone}


def test_r16_every_member_of_the_team_sees_the_photos(two_teams):
    member, photo, plan = two_teams["member"], two_teams["photo"], two_teams["plan_a"]
    page = member.get(f"/plans/{plan.id}").get_data(as_text=True)
    assert f'id="photo-{photo.id}"' in page
    assert member.get(f"/photos/{photo.id}/thumb").status_code == 200
    assert member.get(f"/photos/{photo.id}/display").status_code == 200


@pytest.mark.parametrize("path", ["/plans/{plan}", "/plans/{plan}/photos", "/plans/{plan}/photos/verdict",
                                  "/photos/{photo}/thumb", "/photos/{photo}/display"])
def test_r16_another_teams_plan_and_photo_urls_are_not_found(app_context, two_teams, path):
    outsider = two_teams["outsider"]
    response = outsider.get(path.format(plan=two_teams["plan_a"].id, photo=two_teams["photo"].id))
    assert response.status_code == 404
    assert NOT_FOUND in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_r16_a_photo_for_another_teams_plan_is_not_found_and_nothing_is_written(app_context, two_teams, store):
    outsider, plan_a = two_teams["outsider"], two_teams["plan_a"]
    before = sorted(key for key, _ in store.keys())

    fragment = upload(outsider, plan_a.id, jpeg((99, 0, 0)), headers=PHOTO_SCRIPT)
    page = upload(outsider, plan_a.id, jpeg((0, 99, 0)), headers={"Sec-Fetch-Mode": "navigate"})

    assert fragment.status_code == 404
    assert f'<p class="photo-error" role="alert">{NOT_FOUND}</p>' in fragment.get_data(as_text=True)
    assert page.status_code == 404 and NOT_FOUND in page.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalars(select(Photo)).all() == [two_teams["photo"]]
    assert sorted(key for key, _ in store.keys()) == before


def test_r16_another_team_cannot_delete_a_photo(app_context, two_teams):
    outsider, photo = two_teams["outsider"], two_teams["photo"]
    token = csrf_token_from(outsider.get("/"))
    response = outsider.post(f"/photos/{photo.id}/delete", data={"csrf_token": token}, headers=PHOTO_SCRIPT)
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Photo, photo.id).deleted_at is None


def test_r16_a_photo_that_does_not_exist_is_not_found(app_context, two_teams):
    leader = two_teams["leader"]
    assert leader.get("/photos/999999/thumb").status_code == 404
    token = csrf_token_from(leader.get("/"))
    assert leader.post("/photos/999999/delete", data={"csrf_token": token}).status_code == 404


@pytest.mark.parametrize("path", ["/plans/1", "/plans/1/photos", "/photos/1/thumb"])
def test_r16_photos_need_a_login(app_context, client, path):
    response = client.get(path)
    assert response.status_code in (302, 303)
    assert "/login" in response.headers["Location"]
