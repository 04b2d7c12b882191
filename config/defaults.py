"""Defaults for every setting. Production overrides them with environment variables (README)."""
from datetime import timedelta

# "production": create_app refuses to start with insecure settings (config/production.py), one line for each.
PRACTICE_ENV = "development"

# The practice's own zone (IANA): staff pages, the day's sessions and the dashboard's weeks are shown in it.
PRACTICE_TIMEZONE = "America/New_York"

# Filled per instance in config.load(): a SQLite file in instance/.
DATABASE_URL = ""
# Empty: a random key is made once and kept in instance/ (fine for one machine; set it for several).
SECRET_KEY = ""  # nosec B105  # empty: generated, or set from the environment
BASE_URL = "http://127.0.0.1:5000"
REDIS_URL = ""

SMTP_HOST = ""
SMTP_PORT = 25
SMTP_USERNAME = ""
SMTP_PASSWORD = ""  # nosec B105  # empty: set from the environment
SMTP_STARTTLS = False
MAIL_FROM = "Practice <hello@practice.example>"
MAIL_OUTBOX_DIR = ""  # with no SMTP_HOST, messages are written here as .eml files
INVITE_ALARM_MINUTES = 60  # calendar invites carry a reminder alarm this long before the session; 0: none

STRIPE_SECRET_KEY = ""  # nosec B105  # empty: set from the environment
STRIPE_PUBLISHABLE_KEY = ""
STRIPE_WEBHOOK_SECRET = ""  # nosec B105  # empty: set from the environment
STRIPE_API_BASE = ""
STRIPE_JS_URL = "https://js.stripe.com/v3/"

# Fernet keys, newest first; older keys still decrypt (rotation). Empty: a random key is made once and
# kept in instance/ (fine for one machine; set it for several, and keep it: without it intakes are unreadable).
ENCRYPTION_KEYS: list[str] = []
ALERT_EMAIL = ""

RATELIMIT_ENABLED = True
RATELIMIT_HEADERS_ENABLED = True
# Redis (REDIS_URL) unreachable: each process counts limits in its own memory until Redis answers again (checked
# after 1, 2, 4 ... seconds), rather than failing every limited request with a 500.
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
LOGIN_RATE_LIMIT = "5 per minute;20 per hour"

UPLOAD_DIR = ""
PHOTO_MAX_BYTES = 4 * 1024 * 1024
MAX_CONTENT_LENGTH = 6 * 1024 * 1024

# Staff sessions: server-side rows, so logout and admin actions end them for real.
STAFF_SESSION_IDLE_MINUTES = 30
STAFF_SESSION_MAX_HOURS = 12
SESSION_COOKIE_SECURE = None  # None: true when BASE_URL is https
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_NAME = "practice_session"
PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 1024  # long passphrases are welcome; this only stops abuse of the hasher

WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
SQLALCHEMY_ENGINE_OPTIONS: dict = {}

# Counselors' own calendar feeds (imported busy times).
FEED_REFRESH_MINUTES = 15
FEED_MAX_BYTES = 5 * 1024 * 1024
FEED_TIMEOUT_SECONDS = 10
# Networks a feed may be fetched from although they are not public (tests, on-premises calendar servers).
FEED_ALLOWED_NETWORKS: list[str] = []
FEED_IMPORT_DAYS = 366

# `flask worker`: seconds between rounds of due jobs.
WORKER_INTERVAL_SECONDS = 5

# Booking.
BOOKING_HOLD_MINUTES = 10  # a slot is held this long while the client finishes
CANCELLATION_NOTICE_HOURS = 24  # free cancellation and rescheduling until this long before the session
BOOKING_RATE_LIMIT = "20 per minute;200 per hour"  # per address, on the booking and manage endpoints
# Websites that may show the booking flow in a frame (/embed.js), as origins: ["https://www.example-practice.com"].
EMBED_ALLOWED_ORIGINS: list[str] = []

# Email (practice/notify). How delivery starts once the transaction that queued a message commits:
# "queue" (an RQ job on REDIS_URL), "thread" (a background thread in the web process), "inline" (before
# commit() returns; tests) or "none" (only `flask worker`'s sweep). Empty: "queue" with REDIS_URL, else "thread".
MAIL_DELIVERY = ""
MAIL_MAX_ATTEMPTS = 8  # temporary failures are retried after 1, 2, 4 ... minutes (at most an hour apart)

# Session reminders (practice/notify/reminders.py): this many hours before a confirmed session, but never in
# the client's quiet hours (local time in their zone, "HH:MM-HH:MM"; a reminder falling inside goes out
# earlier, when they begin).
REMINDER_HOURS_BEFORE = 24
QUIET_HOURS = "21:00-08:00"

# Client records (practice/core/retention.py): kept this many years after a person's last session, then they may
# be deleted; someone who never had a session may be deleted at once, on request. Nothing live may be pending.
RECORD_RETENTION_YEARS = 7
