"""Which rows a user may see or change (R-ACC-5, R-DIS-1), as SQL filters and as row checks.

Each scoped model declares, per perimeter level, the attribute path that must equal the user's
perimeter id. The same path builds the SQL criterion (lists, exports, REST) and the Python check
(a row about to be created or moved), so the two can never disagree.
"""
from dataclasses import dataclass
from functools import reduce

import sqlalchemy as sa
from flask import g, has_request_context
from flask_appbuilder.models.filters import BaseFilter
from flask_login import current_user

from app.models.comptes import NIVEAU
from app.workflow import PerimeterViolation

ALL = "*"      # every row, whatever the user's perimeter id
NONE = None    # no row


@dataclass(frozen=True)
class Perimetre:
    user_id: int | None
    role: str | None
    niveau: str | None  # None = unrestricted (technical administrator)
    valeur: int | None

    @property
    def unrestricted(self):
        return self.role == "admin"


ANONYMOUS = Perimetre(None, None, "none", None)


def perimetre_of(user) -> Perimetre:
    if user is None or not getattr(user, "is_authenticated", False):
        return ANONYMOUS
    profil = getattr(user, "profil", None)
    if profil is None:
        is_admin = any(r.name == "Admin" for r in user.roles)
        return Perimetre(user.id, "admin", None, None) if is_admin else Perimetre(user.id, None, "none", None)
    niveau = NIVEAU.get(profil.role)
    valeur = user.id if niveau == "user" else getattr(profil, f"{niveau}_id", None) if niveau else None
    return Perimetre(user.id, profil.role, niveau, valeur)


def current_perimetre() -> Perimetre:
    if not has_request_context():
        return ANONYMOUS
    cached = g.get("_perimetre")
    if cached is None:
        cached = g._perimetre = perimetre_of(current_user)
    return cached


class Scope:
    """Per level, a dotted attribute path (or ALL / NONE) for reading and, optionally, writing."""

    def __init__(self, read: dict, write: dict | None = None, roles: dict | None = None):
        self.read = read
        self.write = {**read, **(write or {})}
        self.roles = roles or {}  # role-specific overrides of read paths

    def path_for(self, p: Perimetre, mode: str):
        """(path, value the path must equal) for this user and mode."""
        if p.unrestricted:
            return ALL, None
        table = self.write if mode == "write" else self.read
        if mode == "read" and p.role in self.roles:
            return self.roles[p.role], p.valeur
        return table.get(p.niveau, NONE), p.valeur


class OwnRows(Scope):
    """Rows that belong to the user personally (notifications), whatever their level."""

    def __init__(self, column: str):
        super().__init__({})
        self.column = column

    def path_for(self, p, mode):
        if p.unrestricted:
            return self.column, p.user_id
        return (self.column if p.user_id else NONE), p.user_id


_SCOPES: dict[type, Scope] = {}


def register(model, scope: Scope):
    _SCOPES[model] = scope


def scope_of(model) -> Scope:
    for klass in model.__mro__:
        if klass in _SCOPES:
            return _SCOPES[klass]
    raise LookupError(f"No perimeter declared for {model.__name__}")


def _sql_path(model, path: str, value):
    """'organisme.reseau_id' on Etablissement -> Etablissement.organisme.has(Organisme.reseau_id == v)."""
    head, _, rest = path.partition(".")
    attr = getattr(model, head)
    if not rest:
        return attr == value
    target = attr.property.mapper.class_
    inner = _sql_path(target, rest, value)
    return attr.any(inner) if attr.property.uselist else attr.has(inner)


def _py_path(obj, path: str):
    values = [obj]
    for part in path.split("."):
        nxt = []
        for v in values:
            if v is None:
                continue
            got = getattr(v, part, None)
            nxt.extend(got if isinstance(got, (list, tuple, set)) else [got])
        values = nxt
    return values


def criterion(model, p: Perimetre | None = None, mode: str = "read"):
    """The SQL condition selecting the rows of `model` inside the perimeter."""
    p = p or current_perimetre()
    path, value = scope_of(model).path_for(p, mode)
    if path == ALL:
        return sa.true()
    if path is NONE or value is None:
        return sa.false()
    if callable(path):
        return path(p)
    paths = path if isinstance(path, (list, tuple)) else [path]
    return reduce(sa.or_, [_sql_path(model, one, value) for one in paths])


def contains(obj, p: Perimetre | None = None, mode: str = "read") -> bool:
    """Whether `obj` (possibly not yet flushed) is inside the perimeter."""
    p = p or current_perimetre()
    path, value = scope_of(type(obj)).path_for(p, mode)
    if path == ALL:
        return True
    if path is NONE or value is None:
        return False
    if callable(path):  # SQL-only rules (e.g. jury membership) are checked on the stored row
        from app.extensions import db
        pk = getattr(obj, "id", None)
        return pk is not None and db.session.query(
            sa.exists().where(type(obj).id == pk, path(p))).scalar()
    paths = path if isinstance(path, (list, tuple)) else [path]
    return any(value in _py_path(obj, one) for one in paths)


def ensure(obj, mode: str = "write", p: Perimetre | None = None):
    if not contains(obj, p, mode):
        raise PerimeterViolation()


def scoped_query(model, p: Perimetre | None = None, mode: str = "read"):
    from app.extensions import db
    return db.session.query(model).filter(criterion(model, p, mode))


def scoped_get(model, pk, p: Perimetre | None = None, mode: str = "read"):
    """The row, or None when it does not exist or is outside the perimeter."""
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        return None
    return scoped_query(model, p, mode).filter(model.id == pk).one_or_none()


class PerimeterFilter(BaseFilter):
    """FAB base filter applying the read perimeter of the current user."""

    name = "Périmètre"
    arg_name = None

    def apply(self, query, value):
        return query.filter(criterion(self.model, current_perimetre(), value or "read"))


def _declare():
    from app.models import Certification, Dispositif, Entreprise, Etablissement, Organisme, Reseau
    from app.models.comptes import Profil
    from app.models.notification import MailMessage, Notification
    from app.models.referentiel import Bloc, Competence, Passerelle

    everyone = {lvl: ALL for lvl in ("dispositif", "reseau", "organisme", "etablissement",
                                      "entreprise", "user")}
    # Referential: readable by all; written only by the dispositif's secretariat (R-DIS-1).
    readonly_elsewhere = {lvl: NONE for lvl in everyone if lvl != "dispositif"}
    register(Dispositif, Scope({**everyone, "dispositif": "id"}, write=readonly_elsewhere))
    for model in (Certification,):
        register(model, Scope({**everyone, "dispositif": "dispositif_id"}, write=readonly_elsewhere))
    for model in (Bloc, Competence, Passerelle):
        register(model, Scope({**everyone, "dispositif": "certification.dispositif_id"},
                              write=readonly_elsewhere))
    # Structures: the certifier sees and administers all of them; the others their own branch.
    register(Reseau, Scope({"dispositif": ALL, "reseau": "id", "organisme": "organismes.id",
                            "etablissement": "organismes.etablissements.id"},
                           write={"organisme": NONE, "etablissement": NONE}))
    register(Organisme, Scope({"dispositif": ALL, "reseau": "reseau_id", "organisme": "id",
                               "etablissement": "etablissements.id"},
                              write={"etablissement": NONE}))
    register(Etablissement, Scope({"dispositif": ALL, "reseau": "organisme.reseau_id",
                                   "organisme": "organisme_id", "etablissement": "id"}))
    register(Entreprise, Scope({"dispositif": ALL, "reseau": ALL, "organisme": ALL,
                                "etablissement": ALL, "entreprise": "id", "user": ALL},
                               write={"reseau": NONE, "organisme": NONE, "etablissement": NONE,
                                      "user": NONE}))
    # Accounts: an administrator sees the users of its perimeter (R-ACC-1, R-ACC-5).
    register(Profil, Scope({
        "dispositif": "dispositif_id",
        "reseau": ["reseau_id", "organisme.reseau_id", "etablissement.organisme.reseau_id"],
        "organisme": ["organisme_id", "etablissement.organisme_id"],
        "etablissement": "etablissement_id",
        "entreprise": "entreprise_id",
        "user": "user_id",
    }))
    register(Notification, OwnRows("user_id"))
    register(MailMessage, Scope({}))  # the outbox: technical administrator only


_declare()
