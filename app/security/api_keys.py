"""Long-lived API keys (issue 14): an administrator issues and revokes them per account.

FAB 5.3 stores them hashed (`ab_api_key`: a salted password hash, plus a keyed lookup hash) and
checks them on every `@protect` route; the clear key is shown once, at issue. A key acts as its
account: same roles, same perimeter, same limits as the account's browser session."""
import datetime as dt
import logging

from flask import current_app
from flask_appbuilder.security.sqla.models import ApiKey

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models.comptes import RANG
from app.security import perimeter, roles
from app.security.perimeter import Perimetre
from app.workflow.engine import NotAllowed

log = logging.getLogger(__name__)


def _check(actor: Perimetre, profil):
    if not roles.allowed(actor.role or "", "Comptes", "api_keys"):
        raise NotAllowed("Seul un administrateur délivre ou révoque des clés d'API.", "R-ACC-1")
    if not perimeter.contains(profil, actor, "read"):
        raise PerimeterViolation()
    if actor.role != "admin" and RANG.get(profil.role, 0) >= RANG.get(actor.role, 0) \
            and profil.user_id != actor.user_id:
        raise NotAllowed("Vous ne pouvez pas délivrer de clé pour un compte de rôle égal ou "
                         "supérieur au vôtre.", "R-ACC-1")


def keys_of(profil) -> list[ApiKey]:
    return (db.session.query(ApiKey).filter(ApiKey.user_id == profil.user_id)
            .order_by(ApiKey.created_on.desc(), ApiKey.id.desc()).all())


def issue(actor: Perimetre, profil, name: str, days: int | None = None) -> str:
    """A new key for `profil`'s account; returns the clear key (never stored, shown once)."""
    _check(actor, profil)
    name = " ".join((name or "").split())
    if not name:
        raise RuleViolation("Nommez la clé (par exemple le logiciel qui l'utilise).", field="nom")
    if len(name) > 200:
        raise RuleViolation("200 caractères au plus.", field="nom")
    user = profil.user
    if not user.active or not getattr(profil, "approuve", True):
        raise RuleViolation("Ce compte n'est pas actif : aucune clé ne peut lui être délivrée.")
    expires = dt.datetime.now() + dt.timedelta(days=int(days)) if days else None
    created = current_app.appbuilder.sm.create_api_key(user, name, expires_on=expires)
    if created is None:
        raise RuleViolation("La clé n'a pas pu être enregistrée. Réessayez.")
    log.info("Clé d'API « %s » délivrée au compte %s par %s", name, user.id, actor.user_id)
    return created["key"]


def revoke(actor: Perimetre, profil, key_uuid: str) -> None:
    _check(actor, profil)
    key = db.session.query(ApiKey).filter(ApiKey.uuid == str(key_uuid),
                                          ApiKey.user_id == profil.user_id).one_or_none()
    if key is None:
        raise PerimeterViolation()
    if key.revoked_on is None:
        key.revoked_on = dt.datetime.now()
        key.active = False
        log.info("Clé d'API « %s » du compte %s révoquée par %s", key.name, profil.user_id,
                 actor.user_id)
