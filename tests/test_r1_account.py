"""R1 accounts over HTTP (§4.1-4.3): the personal page, the avatar, change password with a
code, forgot password, change of login phone. Codes are read from the default SMS backend's
log (logger "checkin_pwa.sms"), as whoever runs a self-hosted server would."""
from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.security import check_password_hash

from checkin_pwa.extensions import db
from checkin_pwa.models import Agency, Auditor, VerificationCode
from checkin_pwa.services.sms import SmsError, SmsSender

from . import factories
from .factories import PASSWORD
from .helpers import csrf_token, in_app_context, log_in

FIXTURES = Path("/work/shared/fixtures/photos")
NEW_PASSWORD = "New#pass2026"


class BrokenSender(SmsSender):
    """The gateway refuses everything (the one place a test double is needed)."""

    def send(self, phone, text):
        raise SmsError("gateway down")


@pytest.fixture
def sms_log(caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    return caplog


def last_code(caplog, phone: str) -> str:
    texts = [r.getMessage() for r in caplog.records if r.name == "checkin_pwa.sms" and phone in r.getMessage()]
    assert texts, f"no SMS to {phone} in the log"
    return re.search(r"验证码是(\d{6})", texts[-1]).group(1)


def page_text(response) -> str:
    return response.get_data(as_text=True)


def post(client, path, data, page=None, **kwargs):
    token = csrf_token(client, page or path)
    return client.post(path, data={**data, "csrf_token": token}, **kwargs)


def is_logged_in(client) -> bool:
    response = client.get("/")
    return not (response.status_code in (302, 303) and "/login" in response.headers["Location"])


@pytest.fixture
def person(app):
    with in_app_context(app):
        someone = factories.auditor(name="张三", phone="13800000001")
    return someone


# --- personal page ----------------------------------------------------------------------------

def test_r1_personal_page_shows_who_and_the_links(app_context, app, client, person):
    log_in(client, person)
    text = page_text(client.get("/me"))
    assert "个人信息" in text and "张三" in text
    assert "138****0001" in text and "13800000001" not in text
    assert factories.agency().name in text
    for words in ("头像上传", "修改密码", "退出登录"):
        assert words in text


def test_r1_personal_page_needs_a_login(app_context, client):
    assert client.get("/me").status_code == 302


# --- change password (§4.1) -------------------------------------------------------------------

def change_password(client, code, current=PASSWORD, new=NEW_PASSWORD):
    return post(client, "/me/password", {"current_password": current, "new_password": new,
                                         "confirm_password": new, "code": code})


def test_r1_change_password_needs_the_code(app_context, app, client, person, sms_log):
    log_in(client, person)
    response = change_password(client, "123456")
    assert response.status_code == 422
    assert "请先获取验证码" in page_text(response)
    db.session.refresh(person)
    assert check_password_hash(person.password_hash, PASSWORD)


def test_r1_change_password_with_old_password_and_code_ends_other_sessions(app, person, sms_log):
    phone_a, phone_b = app.test_client(), app.test_client()
    log_in(phone_a, person)
    log_in(phone_b, person)
    sent = post(phone_a, "/me/password/code", {}, page="/me/password")
    assert sent.status_code == 200 and "验证码已发送至 138****0001" in page_text(sent)
    code = last_code(sms_log, person.phone)

    wrong_old = change_password(phone_a, code, current="Wrong#pass9")
    assert "当前密码不正确" in page_text(wrong_old)
    response = change_password(phone_a, code)
    assert response.status_code == 303
    with app.app_context():
        assert check_password_hash(db.session.get(Auditor, person.id).password_hash, NEW_PASSWORD)
    assert is_logged_in(phone_a) and not is_logged_in(phone_b)
    # One use: the same code again is refused.
    again = change_password(phone_a, code, current=NEW_PASSWORD, new="Other#pass77")
    assert again.status_code == 422


def test_r1_wrong_old_password_counts_against_the_login_throttle(app_context, app, client, person, sms_log):
    log_in(client, person)
    for _ in range(5):
        assert change_password(client, "000000", current="Wrong#pass9").status_code == 422
    throttled = change_password(client, "000000")
    assert throttled.status_code == 429
    assert "失败次数过多" in page_text(throttled)


def test_r1_code_button_htmx_answers_the_fragment_and_the_wait(app_context, app, client, person, sms_log):
    log_in(client, person)
    token = csrf_token(client, "/me/password")
    first = client.post("/me/password/code", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert 'id="code-send"' in page_text(first) and "<html" not in page_text(first)
    assert 'data-countdown="60"' in page_text(first)
    second = client.post("/me/password/code", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert second.status_code == 422
    assert re.search(r"请 (59|60) 秒后再获取", page_text(second))


def test_r1_sending_failure_keeps_no_code(app_context, app, client, person):
    app.config["SMS_BACKEND"] = "tests.test_r1_account.BrokenSender"
    log_in(client, person)
    response = post(client, "/me/password/code", {}, page="/me/password")
    assert "短信发送失败，请稍后再试" in page_text(response)
    assert db.session.scalar(db.select(db.func.count()).select_from(VerificationCode)) == 0


# --- forgot password (§4.2) -------------------------------------------------------------------

def test_r1_forgot_password_resets_it_and_clears_the_first_login_change(app_context, app, client, sms_log):
    person = factories.auditor(phone="13800000002", must_change=True)
    db.session.commit()
    sent = post(client, "/password/forgot/code", {"phone": person.phone}, page="/password/forgot")
    assert "如果该手机号已注册，验证码已发送" in page_text(sent)
    code = last_code(sms_log, person.phone)
    response = post(client, "/password/forgot", {"phone": person.phone, "code": code,
                                                   "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    db.session.refresh(person)
    assert check_password_hash(person.password_hash, NEW_PASSWORD) and not person.must_change_password
    login = post(client, "/login", {"phone": person.phone, "password": NEW_PASSWORD})
    assert login.status_code == 303 and login.headers["Location"] == "/"


def test_r1_forgot_password_says_the_same_for_an_unknown_number(app_context, app, client, sms_log):
    sent = post(client, "/password/forgot/code", {"phone": "13899999999"}, page="/password/forgot")
    assert sent.status_code == 200
    assert "如果该手机号已注册，验证码已发送" in page_text(sent)
    assert not [r for r in sms_log.records if r.name == "checkin_pwa.sms"]  # nobody was texted
    again = post(client, "/password/forgot/code", {"phone": "13899999999"}, page="/password/forgot")
    assert "秒后" in page_text(again)  # the same limits as for a real account
    tried = post(client, "/password/forgot", {"phone": "13899999999", "code": "123456",
                                              "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert tried.status_code == 422 and "验证码错误" in page_text(tried)


def test_r1_forgot_password_code_guessed_six_times(app_context, app, client, person, sms_log):
    post(client, "/password/forgot/code", {"phone": person.phone}, page="/password/forgot")
    code = last_code(sms_log, person.phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    form = {"phone": person.phone, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    answers = [page_text(post(client, "/password/forgot", {**form, "code": wrong})) for _ in range(5)]
    assert "还可尝试 4 次" in answers[0] and "已失效" in answers[4]
    sixth = post(client, "/password/forgot", {**form, "code": code})
    assert sixth.status_code == 422 and "已失效" in page_text(sixth)
    db.session.refresh(person)
    assert check_password_hash(person.password_hash, PASSWORD)


# --- change login phone (§4.3) ----------------------------------------------------------------

def identity(person, **changes):
    return {"name": person.name, "id_type": person.id_type, "id_number": person.id_number, **changes}


def test_r1_change_phone_refused_with_a_wrong_id_number(app_context, app, client, person):
    response = post(client, "/phone/change", identity(person, id_number="110101198001019999"))
    assert response.status_code == 422
    assert "姓名、证件类型或证件号码不匹配" in page_text(response)
    # Same words for a wrong name or ID type (no enumeration).
    for wrong in (identity(person, name="李四"), identity(person, id_type="other")):
        assert "姓名、证件类型或证件号码不匹配" in page_text(post(client, "/phone/change", wrong))
    # And no way round step 1.
    assert client.get("/phone/change/new").headers["Location"] == "/phone/change"


def test_r1_change_phone_accepted_with_the_right_id_then_log_in_with_the_new_number(app, person, sms_log):
    with in_app_context(app):
        # The body lets a change apply at once (else it waits, R18).
        db.session.get(Agency, person.agency_id).phone_change_approval = False
    client, other_phone = app.test_client(), app.test_client()
    log_in(client, person)
    log_in(other_phone, person)
    response = post(client, "/phone/change", identity(person, id_number=" " + person.id_number.lower() + " "))
    assert response.status_code == 303 and response.headers["Location"] == "/phone/change/new"
    sent = post(client, "/phone/change/code", {"new_phone": "13700000009"}, page="/phone/change/new")
    assert "验证码已发送至 137****0009" in page_text(sent)
    code = last_code(sms_log, "13700000009")
    done = post(client, "/phone/change/new", {"new_phone": "13700000009", "code": code})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "修改成功，请使用新手机号登录" in page_text(client.get("/login"))
    with app.app_context():
        assert db.session.get(Auditor, person.id).phone == "13700000009"
    # The old number hears of it (in case it was not its owner who changed it).
    assert any("13800000001" in r.getMessage() and "登录手机号已修改为137****0009" in r.getMessage()
               for r in sms_log.records if r.name == "checkin_pwa.sms")
    assert not is_logged_in(client) and not is_logged_in(other_phone)  # every session ended
    assert "手机号或密码错误" in page_text(post(client, "/login", {"phone": "13800000001", "password": PASSWORD}))
    assert post(client, "/login", {"phone": "13700000009", "password": PASSWORD}).status_code == 303


def test_r1_change_phone_refuses_a_number_in_use(app_context, app, client, person, sms_log):
    other = factories.auditor(phone="13600000006")
    db.session.commit()
    post(client, "/phone/change", identity(person))
    sent = post(client, "/phone/change/code", {"new_phone": other.phone}, page="/phone/change/new")
    assert sent.status_code == 422 and "已是其他账号的登录手机号" in page_text(sent)
    assert not [r for r in sms_log.records if r.name == "checkin_pwa.sms"]
    db.session.refresh(person)
    assert person.phone == "13800000001"


def test_r1_change_phone_step_one_is_throttled(app_context, app, client, person):
    for _ in range(5):
        post(client, "/phone/change", identity(person, id_number="X"))
    response = post(client, "/phone/change", identity(person))
    assert response.status_code == 429 and "失败次数过多" in page_text(response)


# --- avatar -----------------------------------------------------------------------------------

def upload_avatar(client, data: bytes, name="a.jpg"):
    token = csrf_token(client, "/me/avatar")
    return client.post("/me/avatar", data={"csrf_token": token, "avatar": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_r1_avatar_good_photo_is_a_square_jpeg_without_gps(app, person):
    client = app.test_client()
    log_in(client, person)
    response = upload_avatar(client, (FIXTURES / "DSCN0010.jpg").read_bytes())
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Auditor, person.id).avatar_key.startswith("avatars/")
    served = client.get("/me/avatar.jpg")
    assert served.status_code == 200 and served.mimetype == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Cache-Control"] == "private, no-store"
    image = Image.open(io.BytesIO(served.data))
    assert image.format == "JPEG" and image.size == (256, 256)
    exif = image.getexif()
    assert 0x8825 not in exif and not exif.get_ifd(0x8825)  # no GPS
    assert b"GPS" not in served.data
    # Nobody logged out gets it.
    assert app.test_client().get("/me/avatar.jpg").status_code == 302


def test_r1_avatar_replaced_removes_the_old_file(app_context, app, client, person):
    log_in(client, person)
    upload_avatar(client, (FIXTURES / "jolla.jpg").read_bytes())
    db.session.refresh(person)
    first = person.avatar_key
    store = app.extensions["photo_store"]
    assert store.exists(first)
    upload_avatar(client, (FIXTURES / "portrait_6.jpg").read_bytes())
    db.session.refresh(person)
    assert person.avatar_key != first and not store.exists(first) and store.exists(person.avatar_key)


AVIF = (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + b"\x00" * 64)


@pytest.mark.parametrize("data, name, words", [
    (b"just some text, not a picture", "a.jpg", "不是应用接受的图片"),
    (AVIF, "a.avif", "不是应用接受的图片"),
    (None, "truncated.jpg", "图片文件不完整或已损坏"),
    (b"", "empty.jpg", "文件是空的"),
])
def test_r1_avatar_bad_input_changes_nothing(app_context, app, client, person, data, name, words):
    log_in(client, person)
    if data is None:
        data = (FIXTURES / name).read_bytes()
    response = upload_avatar(client, data, name)
    assert response.status_code == 422
    assert words in page_text(response)
    db.session.refresh(person)
    assert person.avatar_key is None
    assert client.get("/me/avatar.jpg").status_code == 404


def test_r1_avatar_too_large_is_refused(app_context, app, client, person):
    app.config["PHOTO_MAX_BYTES"] = 1_000_000
    log_in(client, person)
    assert upload_avatar(client, (FIXTURES / "Canon_40D.jpg").read_bytes()).status_code == 303
    db.session.refresh(person)
    before = person.avatar_key
    response = upload_avatar(client, (FIXTURES / "HMD_Nokia_8.3_5G.jpg").read_bytes())
    assert response.status_code == 422 and "图片太大" in page_text(response)
    db.session.refresh(person)
    assert person.avatar_key == before


def test_r1_avatar_corrupted_fixture_is_handled(app_context, app, client, person):
    # corrupted.jpg decodes (its source calls it corrupted; Pillow reads it): taken, never a 500.
    log_in(client, person)
    response = upload_avatar(client, (FIXTURES / "corrupted.jpg").read_bytes())
    assert response.status_code == 303
    db.session.refresh(person)
    assert Image.open(io.BytesIO(client.get("/me/avatar.jpg").data)).size == (256, 256)


def test_r1_avatar_of_an_heic_photo(app_context, app, client, person):
    log_in(client, person)
    assert upload_avatar(client, (FIXTURES / "IMG_5195.HEIC").read_bytes(), "x.heic").status_code == 303
    served = client.get("/me/avatar.jpg")
    assert served.data[:3] == b"\xff\xd8\xff" and b"GPS" not in served.data


def test_r1_without_js_the_code_button_answers_the_whole_page(app_context, app, client, person, sms_log):
    log_in(client, person)
    response = post(client, "/me/password/code", {"current_password": "typed"}, page="/me/password")
    text = page_text(response)
    assert response.status_code == 200 and "<html" in text and "修改密码" in text
    assert "验证码已发送至 138****0001" in text
    assert 'action="/me/password"' in text  # the change itself still goes to the form's page
    reloaded = client.get("/me/password/code")
    assert reloaded.status_code == 303 and reloaded.headers["Location"] == "/me/password"


def test_r1_the_first_login_page_no_longer_changes_a_password_without_a_code(app_context, app, client, person):
    log_in(client, person)
    response = client.post("/password", data={"current_password": PASSWORD, "new_password": NEW_PASSWORD,
                                              "confirm_password": NEW_PASSWORD,
                                              "csrf_token": csrf_token(client, "/me/password")})
    assert response.status_code == 303 and response.headers["Location"] == "/me/password"
    db.session.refresh(person)
    assert check_password_hash(person.password_hash, PASSWORD)


def test_r1_the_orphan_sweep_keeps_avatars(app_context, app, client, person):
    import datetime as dt

    from checkin_pwa.services.photos import sweep_orphans

    log_in(client, person)
    upload_avatar(client, (FIXTURES / "jolla.jpg").read_bytes())
    db.session.refresh(person)
    store = app.extensions["photo_store"]
    result = sweep_orphans(store, dt.timedelta(0), now=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1))
    assert person.avatar_key not in result.removed and store.exists(person.avatar_key)


def test_r1_pages_work_in_english_too(app_context, app, client, person):
    client.get("/lang/en")
    assert "Forgot password" in page_text(client.get("/password/forgot"))
    assert "Verify your identity" in page_text(client.get("/phone/change"))
    log_in(client, person)
    assert "Personal information" in page_text(client.get("/me"))


# --- help page: the body's contact (configured until the management end keeps it) -------------

def test_r1_help_page_is_linked_from_the_personal_page_and_shows_the_bodys_contact(app_context, app, client, person):
    app.config.update(HELP_CONTACT_NAME="李老师", HELP_CONTACT_PHONE="0435-123 4567")
    log_in(client, person)
    me = page_text(client.get("/me"))
    assert re.search(r'<a href="/help">帮助与联系人</a>', me)
    response = client.get("/help")
    assert response.status_code == 200
    text = page_text(response)
    assert "认证机构联系人" in text and factories.agency().name in text
    assert "李老师" in text and "0435-123 4567" in text
    assert 'href="tel:04351234567"' in text


def test_r1_help_page_takes_the_contact_of_the_auditors_own_body(app_context, app, client, person):
    app.config.update(HELP_CONTACT_NAME="李老师", HELP_CONTACT_PHONE="0435-1234567",
                      HELP_CONTACTS='{"CNCA-R-2002-117": {"name": "王老师", "phone": "+86 10 8888 0000"},'
                                    ' "CNCA-R-2009-001": {"name": "别家", "phone": "021-1"}}')
    log_in(client, person)
    text = page_text(client.get("/help"))
    assert "王老师" in text and 'href="tel:+861088880000"' in text
    assert "李老师" not in text and "别家" not in text


def test_r1_help_page_without_a_contact_says_whom_to_ask(app_context, app, client, person):
    app.config.update(HELP_CONTACT_NAME="", HELP_CONTACT_PHONE="", HELP_CONTACTS="not json")
    log_in(client, person)
    response = client.get("/help")
    assert response.status_code == 200
    text = page_text(response)
    assert "尚未设置本应用的联系人" in text and "tel:" not in text


def test_r1_help_page_needs_a_login(app_context, client):
    assert client.get("/help").status_code == 302
