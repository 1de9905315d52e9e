"""Configuration read from the environment, with development defaults.

No secret lives in the repository: without SECRET_KEY a random key is generated once into
instance/secret_key and reused (development, SQLite). gunicorn on a shared database refuses to
start without SECRET_KEY: every worker must sign sessions and links with the same key.
"""
import os
import secrets
from pathlib import Path

from flask_appbuilder.const import AUTH_DB

BASE_DIR = Path(__file__).resolve().parent
_INSTANCE = Path(os.environ.get("OPENCERTIF_INSTANCE") or BASE_DIR / "instance")


def _secret_key(database_uri: str) -> str:
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    # gunicorn sets SERVER_SOFTWARE. With PostgreSQL the workers may run on several machines or
    # containers: a key generated on one disk is not shared and is lost at redeploy, so every
    # session and signed link would break. Only SQLite (a single machine) may use the file.
    if (os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn")
            and not database_uri.startswith("sqlite")):
        raise RuntimeError(
            "SECRET_KEY manquante : sous gunicorn avec une base partagée, donnez la même "
            "SECRET_KEY à chaque worker par l'environnement.")
    _INSTANCE.mkdir(parents=True, exist_ok=True)
    key_file = _INSTANCE / "secret_key"
    if not key_file.exists():
        # Written aside then linked (fails if the file exists): processes starting together
        # (gunicorn workers, flask CLI) all keep the first complete key, never two keys.
        tmp = _INSTANCE / f".secret_key.{os.getpid()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return key_file.read_text().strip()


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on", "oui")


def _colours() -> dict:
    """The platform's colours (issue 16 item 8), #rrggbb only: they are written into a <style>."""
    import re
    names = {"primaire": "OC_COULEUR_PRIMAIRE", "primaire_fonce": "OC_COULEUR_PRIMAIRE_FONCE",
             "accent": "OC_COULEUR_ACCENT", "fond": "OC_COULEUR_FOND"}
    return {key: os.environ[env] for key, env in names.items()
            if re.fullmatch(r"#[0-9a-fA-F]{6}", os.environ.get(env, ""))}


class Config:
    # The platform's identity: name, logo (an URL, shown before the name) and colours
    # (README « Identité visuelle »); the accessibility statement's contact.
    APP_NAME = os.environ.get("OC_NOM_PLATEFORME", "OpenCertif")
    APP_ICON = os.environ.get("OC_LOGO") or None
    OC_THEME = _colours()
    OC_CONTACT_ACCESSIBILITE = os.environ.get("OC_CONTACT_ACCESSIBILITE") or None
    APP_THEME = ""
    INSTANCE_DIR = str(_INSTANCE)
    SECRET_KEY = None  # filled in by load()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{_INSTANCE / 'opencertif.db'}"
    )
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    REDIS_URL = os.environ.get("REDIS_URL")
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")

    # Security (FAB-NOTES.md "Security switches")
    AUTH_TYPE = AUTH_DB
    AUTH_USER_REGISTRATION = False
    AUTH_ROLE_ADMIN = "Admin"
    AUTH_ROLE_PUBLIC = "Public"
    FAB_PASSWORD_COMPLEXITY_ENABLED = True
    FAB_ADD_SECURITY_API = False  # its role/permission APIs are not used (roles are code)
    # Tables come from migrations and roles from app/security/roles.py: FAB writes neither.
    FAB_CREATE_DB = False
    FAB_UPDATE_PERMS = False
    FAB_API_SWAGGER_UI = True
    FAB_API_MAX_PAGE_SIZE = 100
    # Long-lived API keys an administrator issues per account (stored hashed, FAB 5.2+).
    FAB_API_KEY_ENABLED = True
    FAB_API_KEY_PREFIXES = ["oc_"]
    # Duplicate search (R-CAN-2) per account: enough for daily work, not for enumeration.
    DUPLICATE_SEARCH_RATE_LIMIT = os.environ.get("DUPLICATE_SEARCH_RATE_LIMIT",
                                                 "30 per minute;300 per day")
    AUTH_RATE_LIMITED = True
    RATELIMIT_ENABLED = _bool("RATELIMIT_ENABLED", True)
    # Login (issue 16 item 10): only failures count. AUTH_RATE_LIMIT per account and address (and
    # for the REST login per address); a shared address (a jury room) and an account have their own.
    AUTH_RATE_LIMIT = "10 per 5 minute"
    LOGIN_FAILURES_PER_IP = "50 per 5 minute"
    LOGIN_FAILURES_PER_ACCOUNT = "30 per hour"
    RATELIMIT_STORAGE_URI = os.environ.get("REDIS_URL") or "memory://"
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    INVITATION_MAX_AGE = 7 * 24 * 3600
    RESET_MAX_AGE = 2 * 3600
    MAX_CONTENT_LENGTH = 20_000_000  # decimal like every size shown (« 20 Mo »)
    # Reverse proxies in front of the app that add X-Forwarded-For/-Proto (0: none, no ProxyFix).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0") or 0)
    FORGOT_PASSWORD_LIMIT_PER_ADDRESS = "3 per hour"
    FORGOT_PASSWORD_LIMIT_PER_IP = "10 per hour"
    # Second factor (README « Double authentification »): the secrets are encrypted with this key
    # (any long random text), else with a key derived from SECRET_KEY.
    TOTP_ENCRYPTION_KEY = os.environ.get("TOTP_ENCRYPTION_KEY")
    TOTP_PENDING_MAX_AGE = 300  # seconds between the password and the code
    TOTP_RATE_LIMIT_PER_ACCOUNT = "5 per 5 minute;20 per hour"
    TOTP_RATE_LIMIT_PER_IP = "30 per 5 minute"

    # French only: a single language hides FAB's language menu.
    BABEL_DEFAULT_LOCALE = "fr"
    BABEL_DEFAULT_TIMEZONE = "Europe/Paris"
    LANGUAGES = {"fr": {"flag": "fr", "name": "Français"}}
    # FAB puts its own catalog first and this one after; flask-babel merges them in that order,
    # so ours (every FAB string the app shows, app/i18n.py) wins over FAB's incomplete one.
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "app" / "translations")

    # Mail: without MAIL_SERVER, messages land in the outbox (database + instance/outbox/*.eml).
    MAIL_SERVER = os.environ.get("MAIL_SERVER")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "OpenCertif <no-reply@opencertif.local>")

    # Electronic seal of issued documents and signing key of digital credentials (issue 19,
    # app/reports/seal.py, README « Sceau électronique »): SEAL_<CODE>_P12 / SEAL_<CODE>_PASSWORD
    # per dispositif (read in load()), else this platform seal; RFC 3161 timestamps when
    # SEAL_TSA_URL is set.
    SEAL_P12 = os.environ.get("SEAL_P12")
    SEAL_PASSWORD = os.environ.get("SEAL_PASSWORD")
    SEAL_TSA_URL = os.environ.get("SEAL_TSA_URL")

    LIST_PAGE_SIZE_MAX = 100
    TESTING = False

    @classmethod
    def load(cls) -> dict:
        values = {k: getattr(cls, k) for k in dir(cls) if k.isupper()}
        values.update({k: v for k, v in os.environ.items()
                       if k.startswith("SEAL_") and k.endswith(("_P12", "_PASSWORD"))})
        values["SECRET_KEY"] = _secret_key(values["SQLALCHEMY_DATABASE_URI"])
        return values


class TestConfig(Config):
    TESTING = True
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL_TEST_EFFECTIVE", "sqlite://")
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    MAIL_SERVER = None
    REDIS_URL = None
    PUBLIC_BASE_URL = "http://localhost"
    FAB_PASSWORD_COMPLEXITY_ENABLED = True

    @classmethod
    def load(cls) -> dict:
        values = super().load()
        values["SECRET_KEY"] = "test-secret-key"
        return values
