"""Second factor (issue 14 point 7): TOTP for the roles that can change everything.

The secret is stored encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with `TOTP_ENCRYPTION_KEY`,
or a key derived from SECRET_KEY when it is not set; it is shown only while the enrolment waits
for its first code. Recovery codes carry 50 random bits each: a keyed SHA-256 is enough to store
them (a slow password hash would cost seconds for ten codes and protect nothing more).

Every rule lives here — the login page, the account page, the admin screen and the API all call
these functions."""
import base64
import hashlib
import hmac
import logging
import secrets
import time
from urllib.parse import quote

import pyotp
from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models.base import utcnow
from app.models.comptes import (
    RANG,
    ROLES,
    ROLES_DOUBLE_FACTEUR,
    CodeSecours,
    DoubleFacteur,
    ExigenceDoubleFacteur,
    JournalDoubleFacteur,
)
from app.security import perimeter
from app.security.perimeter import Perimetre, perimetre_of
from app.workflow.engine import NotAllowed

log = logging.getLogger(__name__)

PAS = 30                 # seconds per code (RFC 6238, what every authenticator app uses)
NOMBRE_CODES_SECOURS = 10
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read from paper


class CodeRefuse(RuleViolation):
    """A wrong, reused or expired code: the message says which, in French."""


# -- keys -------------------------------------------------------------------------------------

def _key_material() -> bytes:
    configured = current_app.config.get("TOTP_ENCRYPTION_KEY")
    if configured:
        return configured.encode()
    return hashlib.sha256(b"opencertif-totp:" + current_app.config["SECRET_KEY"].encode()).digest()


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"fernet:" + _key_material()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _chiffrer(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def _dechiffrer(valeur: str) -> str:
    try:
        return _fernet().decrypt(valeur.encode()).decode()
    except InvalidToken:
        # The key changed (SECRET_KEY or TOTP_ENCRYPTION_KEY): an administrator resets the factor.
        raise CodeRefuse("Votre double authentification ne peut plus être vérifiée : demandez à "
                         "un administrateur de la réinitialiser.")


def _empreinte(user_id: int, code: str) -> str:
    return hmac.new(_key_material(), f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


# -- who ---------------------------------------------------------------------------------------

def role_of(user) -> str | None:
    return perimetre_of(user).role


def concerne(user) -> bool:
    """Whether this account may (or must) use a second factor."""
    return role_of(user) in ROLES_DOUBLE_FACTEUR


def _row(user_id: int, lock: bool = False) -> DoubleFacteur | None:
    q = db.session.query(DoubleFacteur).filter(DoubleFacteur.user_id == user_id)
    if lock:
        q = q.with_for_update()
    return q.one_or_none()


def active(user) -> bool:
    return db.session.query(DoubleFacteur.id).filter(
        DoubleFacteur.user_id == user.id, DoubleFacteur.active_le.isnot(None)).first() is not None


def etat(user) -> DoubleFacteur | None:
    return _row(user.id)


def obligatoire(role: str | None) -> bool:
    if role not in ROLES_DOUBLE_FACTEUR:
        return False
    row = db.session.get(ExigenceDoubleFacteur, role)
    return bool(row and row.obligatoire)


def doit_s_inscrire(user) -> bool:
    """A user whose role makes the second factor mandatory and who has none yet: after the
    password, they may only enrol (or sign out)."""
    role = role_of(user)
    return obligatoire(role) and not active(user)


def exigences() -> dict[str, bool]:
    rows = {r.role: r.obligatoire for r in db.session.query(ExigenceDoubleFacteur)}
    return {role: bool(rows.get(role)) for role in ROLES_DOUBLE_FACTEUR}


def definir_exigences(actor: Perimetre, choix: dict[str, bool]) -> None:
    """The technical administrator makes the second factor mandatory (or not) per role."""
    if actor.role != "admin":
        raise NotAllowed("Seul l'administrateur technique fixe les exigences de double "
                         "authentification.", "R-ACC-1")
    for role in ROLES_DOUBLE_FACTEUR:
        voulu = bool(choix.get(role))
        row = db.session.get(ExigenceDoubleFacteur, role)
        if row is None:
            row = ExigenceDoubleFacteur(role=role, obligatoire=False)
            db.session.add(row)
        if bool(row.obligatoire) != voulu:
            row.obligatoire, row.modifie_le, row.modifie_par_id = voulu, utcnow(), actor.user_id
            _journal("exigence", None, actor.user_id,
                     f"{ROLES.label(role)} : {'obligatoire' if voulu else 'facultative'}")


def _journal(evenement: str, user_id, par_id, detail: str | None = None) -> None:
    db.session.add(JournalDoubleFacteur(evenement=evenement, user_id=user_id, par_id=par_id,
                                        detail=detail))


def journal(user_id: int, limit: int = 20) -> list[JournalDoubleFacteur]:
    return (db.session.query(JournalDoubleFacteur)
            .filter(JournalDoubleFacteur.user_id == user_id)
            .order_by(JournalDoubleFacteur.le.desc(), JournalDoubleFacteur.id.desc())
            .limit(limit).all())


# -- enrolment ---------------------------------------------------------------------------------

def _refuser_si_hors_roles(user) -> None:
    if not concerne(user):
        raise NotAllowed("La double authentification est réservée au secrétariat, à "
                         "l'administrateur technique et aux administrateurs réseau.", "R-ACC-1")


def commencer(user) -> str:
    """The secret waiting for its first code (a new one unless an enrolment is under way)."""
    _refuser_si_hors_roles(user)
    row = _row(user.id, lock=True)
    if row is not None and row.active_le is not None:
        raise RuleViolation("La double authentification est déjà activée sur votre compte.")
    if row is None:
        # Two tabs opening the page at once: the unique user_id keeps one secret, both show it.
        from sqlalchemy.exc import IntegrityError
        try:
            with db.session.begin_nested():
                row = DoubleFacteur(user_id=user.id,
                                    secret_chiffre=_chiffrer(pyotp.random_base32()))
                db.session.add(row)
        except IntegrityError:
            row = _row(user.id, lock=True)
    return _dechiffrer(row.secret_chiffre)


def lien_application(user, secret: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    issuer = current_app.config.get("APP_NAME") or "OpenCertif"
    return pyotp.TOTP(secret).provisioning_uri(name=user.email or user.username,
                                               issuer_name=issuer)


def qr_code_data_uri(texte: str) -> str:
    """The QR code as an inline SVG (data: URI): no script, no other origin (CSP)."""
    import io

    import qrcode
    import qrcode.image.svg
    image = qrcode.make(texte, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;utf8," + quote(buffer.getvalue().decode())


def confirmer(user, code: str) -> list[str]:
    """The first code proves the app holds the secret: activate, return the recovery codes
    (shown once)."""
    _refuser_si_hors_roles(user)
    row = _row(user.id, lock=True)
    if row is None:
        raise RuleViolation("Commencez par afficher le QR code de votre compte.")
    if row.active_le is not None:
        raise RuleViolation("La double authentification est déjà activée sur votre compte.")
    row.dernier_pas = _pas_du_code(_dechiffrer(row.secret_chiffre), code, row.dernier_pas)
    row.active_le = utcnow()
    _journal("activation", user.id, user.id)
    log.info("Double authentification activée pour le compte %s", user.id)
    return _nouveaux_codes(user.id)


def _nouveaux_codes(user_id: int) -> list[str]:
    db.session.query(CodeSecours).filter(CodeSecours.user_id == user_id).delete(
        synchronize_session=False)
    codes = []
    for _ in range(NOMBRE_CODES_SECOURS):
        brut = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{brut[:5]}-{brut[5:]}")
        db.session.add(CodeSecours(user_id=user_id, empreinte=_empreinte(user_id, brut)))
    db.session.flush()
    return codes


def codes_restants(user) -> int:
    return db.session.query(CodeSecours).filter(CodeSecours.user_id == user.id,
                                                CodeSecours.utilise_le.is_(None)).count()


# -- checking a code ---------------------------------------------------------------------------

def _normaliser(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _pas_du_code(secret: str, code: str, dernier_pas: int | None) -> int:
    """The time step `code` belongs to (now, or one step either side for clock drift), refused
    when that step or a later one was already used: a code works once."""
    code = _normaliser(code)
    if len(code) != 6 or not code.isdigit():
        raise CodeRefuse("Saisissez les 6 chiffres affichés par votre application.", field="code")
    totp = pyotp.TOTP(secret)
    maintenant = int(time.time()) // PAS
    for pas in (maintenant, maintenant - 1, maintenant + 1):
        if hmac.compare_digest(totp.at(pas * PAS), code):
            if dernier_pas is not None and pas <= dernier_pas:
                raise CodeRefuse("Ce code a déjà servi : attendez le suivant dans votre "
                                 "application.", field="code")
            return pas
    raise CodeRefuse("Code incorrect.", field="code")


def verifier(user, code: str) -> str:
    """Check the second factor of an enrolled user: a 6-digit code or a recovery code.
    Returns "totp" or "secours"; CodeRefuse otherwise. The row lock makes two requests with the
    same code accept it once."""
    row = _row(user.id, lock=True)
    if row is None or row.active_le is None:
        raise CodeRefuse("La double authentification n'est pas activée sur ce compte.")
    normalise = _normaliser(code)
    if len(normalise) == 10:
        secours = (db.session.query(CodeSecours)
                   .filter(CodeSecours.user_id == user.id,
                           CodeSecours.empreinte == _empreinte(user.id, normalise))
                   .with_for_update().one_or_none())
        if secours is None or secours.utilise_le is not None:
            raise CodeRefuse("Code de secours incorrect ou déjà utilisé.", field="code")
        secours.utilise_le = utcnow()
        _journal("code_secours_utilise", user.id, user.id)
        log.warning("Code de secours utilisé par le compte %s", user.id)
        return "secours"
    row.dernier_pas = _pas_du_code(_dechiffrer(row.secret_chiffre), code, row.dernier_pas)
    return "totp"


def regenerer_codes(user, code: str) -> list[str]:
    verifier(user, code)
    _journal("codes_regeneres", user.id, user.id)
    return _nouveaux_codes(user.id)


def desactiver(user, code: str) -> None:
    if obligatoire(role_of(user)):
        raise RuleViolation("Votre rôle impose la double authentification : elle ne peut pas être "
                            "désactivée. Vous pouvez régénérer vos codes de secours.")
    verifier(user, code)
    _supprimer(user.id)
    _journal("desactivation", user.id, user.id)


def _supprimer(user_id: int) -> None:
    db.session.query(CodeSecours).filter(CodeSecours.user_id == user_id).delete(
        synchronize_session=False)
    db.session.query(DoubleFacteur).filter(DoubleFacteur.user_id == user_id).delete(
        synchronize_session=False)


# -- reset by an administrator -----------------------------------------------------------------

def peut_reinitialiser(actor: Perimetre, user) -> bool:
    if actor.user_id == user.id:
        return False  # one's own factor: disable it with a code, or ask someone else
    if actor.role == "admin":
        return True
    profil = getattr(user, "profil", None)
    return (actor.role == "secretariat" and profil is not None
            and RANG.get(profil.role, 0) < RANG["secretariat"]
            and perimeter.contains(profil, actor, "read"))


def reinitialiser(actor: Perimetre, user) -> None:
    """Remove a user's second factor (lost phone and codes): logged, the user is e-mailed. They
    enrol again at their next login when their role makes it mandatory."""
    if actor.role not in ("admin", "secretariat"):
        raise NotAllowed("Seuls l'administrateur technique et le secrétariat réinitialisent une "
                         "double authentification.", "R-ACC-1")
    if not peut_reinitialiser(actor, user):
        if actor.user_id == user.id:
            raise NotAllowed("Vous ne pouvez pas réinitialiser votre propre double "
                             "authentification.", "R-ACC-1")
        profil = getattr(user, "profil", None)
        if profil is not None and not perimeter.contains(profil, actor, "read"):
            raise PerimeterViolation()
        raise NotAllowed("Vous ne pouvez pas réinitialiser la double authentification d'un "
                         "compte de rôle égal ou supérieur au vôtre.", "R-ACC-1")
    from flask_appbuilder.security.sqla.models import User
    par = db.session.get(User, actor.user_id)
    _reinitialiser(user, actor.user_id,
                   f"{par.first_name} {par.last_name}" if par else "un administrateur")


def reinitialiser_console(user) -> None:
    """`flask double-facteur reinitialiser`: the way back for the last technical administrator
    who lost phone and recovery codes (nobody resets their own second factor on screen)."""
    _reinitialiser(user, None, "l'exploitant de la plateforme")


def _reinitialiser(user, par_id, par_nom: str) -> None:
    if _row(user.id, lock=True) is None:
        raise RuleViolation("Ce compte n'a pas de double authentification à réinitialiser.")
    _supprimer(user.id)
    _journal("reinitialisation", user.id, par_id)
    from app.formats import format_datetime_fr
    from app.workflow.mail import send_mail
    send_mail(user.email, "double_facteur_reinitialise", user=user, par=par_nom,
              le=format_datetime_fr(utcnow()), obligatoire=obligatoire(role_of(user)))
    log.warning("Double authentification du compte %s réinitialisée par %s", user.id,
                par_id or "la console")


# -- rate limit of the code page ---------------------------------------------------------------

def compter_essai(user_id: int, adresse: str) -> None:
    """One attempt at a code, counted per account and per client address. TooManyRequests
    (French, with the wait) beyond TOTP_RATE_LIMIT_PER_ACCOUNT / _PER_IP."""
    from limits import parse_many

    from app.security.account_limits import TooManyRequests, _duree, _limiter
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED"):
        return
    limiter = _limiter()
    for key, cle in (("TOTP_RATE_LIMIT_PER_ACCOUNT", f"u{user_id}"),
                     ("TOTP_RATE_LIMIT_PER_IP", f"ip{adresse or '-'}")):
        for item in parse_many(config.get(key) or ""):
            if not limiter.hit(item, "double-facteur", cle):
                reset, _ = limiter.get_window_stats(item, "double-facteur", cle)
                wait = max(1, int(reset - time.time()))
                raise TooManyRequests(
                    f"Trop d'essais de code : réessayez dans {_duree(wait)}.", wait)
