"""Configuration read from the environment (microblog style); TestConfig for the suite."""
import datetime as dt
import os

from .domain import clock


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    # "production": create_app refuses to start without what several hosts must share
    # (checkin_pwa.production, docs/production.md); "development" (the default) needs nothing.
    APP_ENV = os.environ.get("APP_ENV", "development")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    SECRET_KEY = os.environ.get("SECRET_KEY")  # None: create_app makes one in the instance folder
    # SQLite in the instance folder unless DATABASE_URL names another database.
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "5000"))

    # One photo per request (services.photos): a photo may be PHOTO_MAX_BYTES, the request
    # a little more for its form fields. A plan import document is small.
    PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(15 * 1024 * 1024)))
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(PHOTO_MAX_BYTES + 1024 * 1024)))
    # What the phone sends of one photo at most (static/js/photo-bytes.js, given in the page): it
    # lowers the JPEG quality, then the size (never below 1280 px on the long side), until the
    # copy fits. 300 kB is about 3 s on a 750 kbit/s uplink.
    PHOTO_WIRE_MAX_BYTES = int(os.environ.get("PHOTO_WIRE_MAX_BYTES", str(300 * 1024)))
    PLAN_IMPORT_MAX_BYTES = int(os.environ.get("PLAN_IMPORT_MAX_BYTES", str(2 * 1024 * 1024)))
    # A plan document uploaded on the console (JSON or .xlsx; within MAX_CONTENT_LENGTH), kept
    # for its commit this many minutes after its dry run.
    PLAN_UPLOAD_MAX_BYTES = int(os.environ.get("PLAN_UPLOAD_MAX_BYTES", str(15 * 1024 * 1024)))
    PLAN_UPLOAD_MINUTES = int(os.environ.get("PLAN_UPLOAD_MINUTES", "60"))
    # Every other request is a form: refused (413) past this many bytes, before it is read.
    FORM_MAX_BYTES = int(os.environ.get("FORM_MAX_BYTES", str(256 * 1024)))

    # Default initial password for auditors imported without one (the body's default).
    DEFAULT_INITIAL_PASSWORD = os.environ.get("DEFAULT_INITIAL_PASSWORD", "Init#2026a")

    # Babel: Simplified Chinese first, English available.
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = clock.DEFAULT_ZONE_NAME
    LANGUAGES = ["zh_CN", "en"]

    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (checkin_pwa.proxies):
    # addresses or networks, comma-separated. Empty: the peer is the client, headers ignored.
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "127.0.0.1, ::1")
    # The path the app is served under when it is not the site's root (e.g. /checkin), for a
    # server or proxy that does not say so in X-Forwarded-Prefix (checkin_pwa.proxies).
    APPLICATION_ROOT = os.environ.get("APPLICATION_ROOT", "/")

    # Login throttling (Flask-Limiter). database:// counts in the app's own database
    # (checkin_pwa.limits_storage), once for every worker and host; redis://host:6379 is the
    # other shared choice. memory:// counts per worker process. A shared store that is down
    # does not fail logins: the workers count in memory meanwhile, and say so in the log.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "database://")
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_HEADERS_ENABLED = False
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per 15 minutes")
    # A browser that logged in to (or reset) an account before is counted on its own at the
    # login form (blueprints/auth/devices.py), so strangers cannot lock its auditor out.
    LOGIN_LIMIT_PER_DEVICE = os.environ.get("LOGIN_LIMIT_PER_DEVICE", "5 per 15 minutes")
    LOGIN_DEVICE_DAYS = int(os.environ.get("LOGIN_DEVICE_DAYS", "365"))

    # The management end (/admin): a staff login ends after this many minutes without a
    # request; wrong second-factor codes per account before a pause.
    STAFF_IDLE_MINUTES = int(os.environ.get("STAFF_IDLE_MINUTES", "30"))
    STAFF_CODE_LIMIT = os.environ.get("STAFF_CODE_LIMIT", "20 per 15 minutes")

    # Sessions and cookies. Embedding in a cross-site intranet page needs
    # EMBED_CROSS_SITE=1 (SameSite=None; Secure; Partitioned; served over HTTPS).
    EMBED_CROSS_SITE = _env_bool("EMBED_CROSS_SITE", False)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    # A login is a permanent session: the cookie has an expiry, so an installed app closed
    # and reopened (which drops browser-session cookies) is still logged in. Every request
    # renews it, so it ends after this many days unused; logout ends it at once (README).
    PERMANENT_SESSION_LIFETIME = dt.timedelta(days=int(os.environ.get("SESSION_LIFETIME_DAYS", "30")))
    # Who may frame our pages (CSP frame-ancestors): only our own by default; a body that
    # embeds the app in its intranet lists those origins, e.g. "'self' https://oa.example.cn".
    FRAME_ANCESTORS = os.environ.get("FRAME_ANCESTORS", "'self'")
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session (see R17 replays)

    # Map tiles: any XYZ URL template; empty = no tiles (offline, tests).
    # TILE_DATUM is "wgs84" (OpenStreetMap) or "gcj02" (AMap, Tencent): positions are
    # always stored in WGS-84 and converted for display only.
    TILE_URL = os.environ.get("TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    TILE_ATTRIBUTION = os.environ.get("TILE_ATTRIBUTION", "© OpenStreetMap")
    TILE_DATUM = os.environ.get("TILE_DATUM", "wgs84")

    # Photos (R8, services.photos). PHOTO_STORE names the storage/ backend; the files live
    # in PHOTO_STORAGE_DIR (default <instance>/photos, never under static/).
    PHOTO_STORE = os.environ.get("PHOTO_STORE", "filesystem")
    PHOTO_STORAGE_DIR = os.environ.get("PHOTO_STORAGE_DIR")
    # The operator's word that PHOTO_STORAGE_DIR is one folder every host mounts (NFS…):
    # production mode accepts the filesystem store only then.
    PHOTO_STORAGE_SHARED = _env_bool("PHOTO_STORAGE_SHARED", False)
    # PHOTO_STORE=s3: an S3-compatible object store (storage/s3.py, docs/storage.md). The
    # bucket exists and is private; files are streamed through the app unless
    # S3_PRESIGN_SECONDS > 0 (a redirect to a URL the phones must be able to reach).
    S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL")
    S3_BUCKET = os.environ.get("S3_BUCKET")
    S3_REGION = os.environ.get("S3_REGION")
    S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID")
    S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY")
    S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "path")
    S3_PRESIGN_SECONDS = int(os.environ.get("S3_PRESIGN_SECONDS", "0"))
    # A local folder where an XLSX export is built before it goes to the file store (default
    # <instance>/exports; docs/exports.md). Each host's own: nothing waits here.
    EXPORT_DIR = os.environ.get("EXPORT_DIR")
    # Refused before decoding: lower than Pillow's own decompression-bomb limit (89 MP).
    # 50 MP holds any phone camera's default mode (a 200 MP sensor bins to 12.5 MP), and
    # the phone shrinks what it can decode to 1600 px before sending anyway.
    PHOTO_MAX_PIXELS = int(os.environ.get("PHOTO_MAX_PIXELS", str(50_000_000)))
    # Each side and the ratio of the sides too (a 1 x 50,000,000 PNG is not a photo).
    PHOTO_MAX_SIDE = int(os.environ.get("PHOTO_MAX_SIDE", "20000"))
    PHOTO_MAX_ASPECT = float(os.environ.get("PHOTO_MAX_ASPECT", "10"))
    # Every decode (photo, avatar) runs in a decoder process with these hard limits, the CPU
    # per picture (services.imaging; docs/security.md has what they cost); at most
    # PHOTO_DECODE_WORKERS at once per web worker process. A decoder is replaced after
    # PHOTO_DECODE_RECYCLE_AFTER pictures or above PHOTO_DECODE_RECYCLE_MB resident, and
    # closed after PHOTO_DECODE_IDLE_S without work.
    PHOTO_DECODE_CPU_S = int(os.environ.get("PHOTO_DECODE_CPU_S", "6"))
    PHOTO_DECODE_MEMORY_MB = int(os.environ.get("PHOTO_DECODE_MEMORY_MB", "1024"))
    PHOTO_DECODE_WORKERS = int(os.environ.get("PHOTO_DECODE_WORKERS", "2"))
    PHOTO_DECODE_RECYCLE_AFTER = int(os.environ.get("PHOTO_DECODE_RECYCLE_AFTER", "50"))
    PHOTO_DECODE_RECYCLE_MB = int(os.environ.get("PHOTO_DECODE_RECYCLE_MB", "160"))
    PHOTO_DECODE_IDLE_S = float(os.environ.get("PHOTO_DECODE_IDLE_S", "300"))
    # Files no row points at are swept only when older than this, so an upload in flight
    # (files written, row not yet committed) is never taken.
    PHOTO_ORPHAN_MIN_AGE_S = int(os.environ.get("PHOTO_ORPHAN_MIN_AGE_S", "3600"))
    # R14: largest file add-notice attaches (each); stored in the photo store under notices/.
    NOTICE_ATTACHMENT_MAX_BYTES = int(os.environ.get("NOTICE_ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024)))
    # A console form with a notice's files: two of the largest, and the text beside them.
    NOTICE_UPLOAD_MAX_BYTES = int(os.environ.get("NOTICE_UPLOAD_MAX_BYTES", str(41 * 1024 * 1024)))

    # Account (R1, services.verification, services.sms). SMS_BACKEND: dotted path of a class
    # with send(phone, text); the default writes the message to the server log (docs/sms.md).
    SMS_BACKEND = os.environ.get("SMS_BACKEND", "checkin_pwa.services.sms.LogSmsSender")
    SMS_SIGNATURE = os.environ.get("SMS_SIGNATURE", "认证到")  # the 【…】 a Chinese SMS starts with
    CODE_TTL_S = int(os.environ.get("CODE_TTL_S", "300"))
    CODE_MAX_TRIES = int(os.environ.get("CODE_MAX_TRIES", "5"))
    CODE_RESEND_S = int(os.environ.get("CODE_RESEND_S", "60"))
    CODE_MAX_PER_HOUR = int(os.environ.get("CODE_MAX_PER_HOUR", "5"))
    CODE_MAX_PER_DAY = int(os.environ.get("CODE_MAX_PER_DAY", "10"))
    # Asking for codes from one address, whatever the number (no SMS pumping).
    CODE_SEND_LIMIT_PER_ADDRESS = os.environ.get("CODE_SEND_LIMIT_PER_ADDRESS", "30 per hour")
    # Change login phone, step 1 (name + ID): failed matches per address, like logins.
    IDENTITY_LIMIT_PER_ADDRESS = os.environ.get("IDENTITY_LIMIT_PER_ADDRESS", "5 per 15 minutes")
    # How long a proved identity is kept (signed session) for step 2 of the phone change.
    PHONE_CHANGE_STEP_S = int(os.environ.get("PHONE_CHANGE_STEP_S", "600"))
    AVATAR_SIZE = int(os.environ.get("AVATAR_SIZE", "256"))

    # The help page's contact at the body (services.help): one for the server, or by body
    # code as JSON for a server several bodies share. Empty: the page says none is set.
    HELP_CONTACT_NAME = os.environ.get("HELP_CONTACT_NAME", "")
    HELP_CONTACT_PHONE = os.environ.get("HELP_CONTACT_PHONE", "")
    HELP_CONTACTS = os.environ.get("HELP_CONTACTS", "")


class TestConfig(Config):
    TESTING = True
    APP_ENV = "development"
    SECRET_KEY = "test-secret-not-for-production"
    TILE_URL = ""
