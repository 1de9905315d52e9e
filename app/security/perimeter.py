"""Which rows a user may see or change (R-ACC-5, R-DIS-1), as SQL filters and as row checks.

Each scoped model declares, per perimeter level, the attribute path that must equal the user's
perimeter id. The same path builds the SQL criterion (lists, exports, REST) and the Python check
(a row about to be created or moved), so the two can never disagree.
"""
from dataclasses import dataclass
from functools import reduce

import sqlalchemy as sa
from flask import current_app, g, has_request_context
from flask_appbuilder.models.filters import BaseFilter

from app.errors import PerimeterViolation
from app.models.comptes import NIVEAU

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
    if profil is not None and not profil.approuve:
        return Perimetre(user.id, None, "none", None)  # a sign-up not approved: nothing at all
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
        # The token's user for API clients, the session's for browsers (FAB-NOTES, second wave).
        cached = g._perimetre = perimetre_of(current_app.appbuilder.sm.current_user)
    return cached


# --- « who may »: the questions the domain asks about a perimeter, named once -------------------
# Nowhere else compares `p.valeur` by hand: its meaning depends on the level (a dispositif's id for
# its secretariat, a company's for an employer, a network's for its administrators).
def _id(value):
    return getattr(value, "id", value)


def own_id(p: Perimetre, niveau: str):
    """The id of the `niveau` row `p` belongs to (their dispositif, company, network…), else None."""
    return p.valeur if p.niveau == niveau else None


def scope_id(p: Perimetre):
    """The id of the row `p`'s perimeter is bound to, whatever its level; None when unbound."""
    return p.valeur


def is_secretariat_of(p: Perimetre, dispositif) -> bool:
    """`p` is the secretariat (the certifier) of this dispositif (row or id)."""
    return p.role == "secretariat" and p.valeur is not None and p.valeur == _id(dispositif)


def may_organise(p: Perimetre, dispositif) -> bool:
    """Organises the dispositif's juries, decides its habilitations and evaluators: its
    secretariat, or the technical administrator (R-JUR-1, R-HAB-3, R-DIS-1)."""
    return p.unrestricted or is_secretariat_of(p, dispositif)


def is_employer_of(p: Perimetre, entreprise) -> bool:
    """`p` is an employer account of this company (row or id)."""
    return p.role == "employeur" and p.valeur is not None and p.valeur == _id(entreprise)


def is_network_admin_of(p: Perimetre, reseau) -> bool:
    """`p` administers (or supervises) this network (row or id)."""
    return p.niveau == "reseau" and p.valeur is not None and p.valeur == _id(reseau)


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


def _current(obj, name: str):
    """obj.<name>, where a foreign key `x_id` follows a relationship `x` assigned but not flushed.

    Forms and REST set the relationship (`etablissement.organisme = o`), not the key: before the
    flush the key is still empty (new row) or the old value (a row being moved elsewhere)."""
    value = getattr(obj, name, None)
    if not name.endswith("_id"):
        return value
    state = sa.inspect(obj, raiseerr=False)
    rel = name[:-3]
    if state is None or not hasattr(state, "mapper") or rel not in state.mapper.relationships:
        return value
    if state.attrs[name].history.has_changes():
        return value
    history = state.attrs[rel].history
    if history.has_changes():
        target = history.added[0] if history.added else None
        return getattr(target, "id", None)
    return value


def _py_path(obj, path: str):
    values = [obj]
    for part in path.split("."):
        nxt = []
        for v in values:
            if v is None:
                continue
            got = _current(v, part)
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


def may_create(model, p: Perimetre | None = None) -> bool:
    """Whether a new row of `model` may be inside the user's write perimeter: not where the
    level writes nothing, nor where the perimeter is the row itself (an établissement's
    administrator writes his établissement, he does not create one)."""
    p = p or current_perimetre()
    path, value = scope_of(model).path_for(p, "write")
    if path == ALL:
        return True
    if path is NONE or value is None:
        return False
    return callable(path) or any(one != "id" for one in (
        path if isinstance(path, (list, tuple)) else [path]))


def writable_ids(model, ids, p: Perimetre | None = None) -> set:
    """The ids among `ids` whose rows the user may change (one query for a list page)."""
    from app.extensions import db
    if not ids:
        return set()
    return {pk for (pk,) in db.session.query(model.id).filter(
        model.id.in_(ids), criterion(model, p, "write"))}


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
    _declare_candidatures()
    register(Notification, OwnRows("user_id"))
    register(MailMessage, Scope({}))  # the outbox: technical administrator only
    _declare_habilitations()
    _declare_documents()
    _declare_conformite()
    _declare_jurys()


def _declare_jurys():
    """Jurys (R-JUR-1..10): the secretariat of the dispositif; a jury member only the juries he sits
    on (a to-many membership: callables with .any(), FAB drops dotted to-many filters). What a
    decision left behind (R-DEC-2/3) is read like its dossier."""
    from sqlalchemy.orm import aliased

    from app.models.jury import (
        AcquisCompetence,
        AttributionCertification,
        InscriptionJury,
        Jury,
        JuryMembre,
    )

    def my_juries(p):
        m = aliased(JuryMembre)
        return sa.select(m.jury_id).where(m.user_id == p.user_id)

    register(Jury, Scope({"dispositif": "dispositif_id",
                          "user": lambda p: Jury.membres.any(JuryMembre.user_id == p.user_id)},
                         write={"user": NONE}))
    for model in (JuryMembre, InscriptionJury):
        register(model, Scope({"dispositif": "jury.dispositif_id",
                               "user": lambda p, m=model: m.jury_id.in_(my_juries(p))},
                              write={"user": NONE}))
    by_dossier = {"dispositif": "candidature.dispositif_id", "reseau": "candidature.reseau_id",
                  "organisme": "candidature.organisme_id",
                  "etablissement": "candidature.etablissement_id",
                  "entreprise": "candidature.entreprise_id", "user": "candidature.evaluateur_id"}
    for model in (AcquisCompetence, AttributionCertification):
        register(model, Scope(by_dossier, write={lvl: NONE for lvl in by_dossier
                                                 if lvl != "dispositif"}))


def _declare_conformite():
    """Retention schedule, purge log, declarations to the Caisse des Dépôts: the secretariat of
    the dispositif (R-ARC-1…4). A dossier's purge tombstones are read like the dossier."""
    from app.models.conformite import (
        DeclarationCDC,
        DeclarationTitulaire,
        PurgeLog,
        PurgeTrace,
        RetentionRule,
    )
    for model in (RetentionRule, PurgeLog, DeclarationCDC):
        register(model, Scope({"dispositif": "dispositif_id"}))
    register(DeclarationTitulaire, Scope({"dispositif": "declaration.dispositif_id"}))
    register(PurgeTrace, Scope({"dispositif": "dispositif_id",
                                "reseau": "candidature.reseau_id",
                                "organisme": "candidature.organisme_id",
                                "etablissement": "candidature.etablissement_id",
                                "entreprise": "candidature.entreprise_id"},
                               write={lvl: NONE for lvl in ("dispositif", "reseau", "organisme",
                                                            "etablissement", "entreprise")}))


def _declare_documents():
    """Issued documents and print batches: the secretariat of their dispositif (R-DIS-1). The
    certificates and decision letters of a dossier are also read by those the dossier concerns —
    its employer, its établissement and the organisme / réseau above it — like the dossier
    itself (R-ACC-5). PV, attendance sheets and letters to the GTP stay with the secretariat;
    nobody but the secretariat writes (revokes, duplicates, records a mailing)."""
    from app.models.candidature import Candidature
    from app.models.document import BatchJob, DocumentEmis, Envoi

    def of_dossiers(column):
        def rule(p):
            return sa.and_(DocumentEmis.type.in_(DOSSIER_DOCUMENTS),
                           DocumentEmis.candidature_id.in_(
                               sa.select(Candidature.id).where(column == p.valeur)))
        return rule
    levels = {"reseau": Candidature.reseau_id, "organisme": Candidature.organisme_id,
              "etablissement": Candidature.etablissement_id,
              "entreprise": Candidature.entreprise_id}
    readers = {level: of_dossiers(column) for level, column in levels.items()}
    no_write = {level: NONE for level in levels}
    register(DocumentEmis, Scope({"dispositif": "dispositif_id", **readers}, write=no_write))

    def envois_of(rule):
        return lambda p: Envoi.document_id.in_(sa.select(DocumentEmis.id).where(rule(p)))
    register(Envoi, Scope({"dispositif": "document.dispositif_id",
                           **{lvl: envois_of(rule) for lvl, rule in readers.items()}},
                          write=no_write))
    register(BatchJob, Scope({"dispositif": "dispositif_id"}))


DOSSIER_DOCUMENTS = ("certificat", "lettre_decision")


def _declare_habilitations():
    """Habilitations (R-HAB-1..6): requests scoped like their établissement, the certifier by
    dispositif; évaluateurs habilités readable by everyone, written by the secretariat."""
    from app.models.habilitation import (
        AppreciationHabilitation,
        EvaluateurHabilite,
        Habilitation,
        HabilitationEvaluateur,
    )
    by_etab = {"dispositif": "dispositif_id", "reseau": "etablissement.organisme.reseau_id",
               "organisme": "etablissement.organisme_id", "etablissement": "etablissement_id"}
    register(Habilitation, Scope(by_etab))
    register(AppreciationHabilitation, Scope({k: f"habilitation.{v}" for k, v in by_etab.items()},
                                             write={"reseau": NONE, "organisme": NONE,
                                                    "etablissement": NONE}))
    public = {lvl: ALL for lvl in ("dispositif", "reseau", "organisme", "etablissement",
                                   "entreprise", "user")}
    not_written = {lvl: NONE for lvl in public if lvl != "dispositif"}
    register(EvaluateurHabilite, Scope(public, write=not_written))
    register(HabilitationEvaluateur, Scope(public, write={
        **not_written, "dispositif": "certification.dispositif_id"}))


def _declare_candidatures():
    """Dossiers (R-ACC-5): each level is one denormalised column of Candidature; the evaluator
    sees the dossiers naming him; jury members: declared by the jury feature (none yet)."""
    from app.models.candidature import (
        Candidat,
        Candidature,
        Document,
        Historique,
        RattachementDemande,
    )
    from app.models.evaluation import (
        Amenagement,
        Evaluation,
        Formation,
        InvitationMetier,
        ResultatCompetence,
    )
    dossier = {"dispositif": "dispositif_id", "reseau": "reseau_id", "organisme": "organisme_id",
               "etablissement": "etablissement_id", "entreprise": "entreprise_id",
               "user": "evaluateur_id"}

    def jury(criterion_of):
        """Jury members read the dossiers registered to their juries (app/models/jury.py)."""
        def rule(p):
            from app.models.jury import dossiers_of_member
            return criterion_of(dossiers_of_member(p.user_id))
        return {"jury": rule}
    register(Candidature, Scope(dossier, write={"user": NONE},
                                roles=jury(lambda ids: Candidature.id.in_(ids))))

    def via(prefix):
        return {level: f"{prefix}.{path}" for level, path in dossier.items()}
    for model in (Document, Historique, Evaluation, Formation, Amenagement):
        register(model, Scope(via("candidature"),
                              roles=jury(lambda ids, m=model: m.candidature_id.in_(ids))))
    for model in (ResultatCompetence, InvitationMetier):
        register(model, Scope(via("evaluation.candidature"), roles=jury(
            lambda ids, m=model: m.evaluation_id.in_(
                sa.select(Evaluation.id).where(Evaluation.candidature_id.in_(ids))))))
    # A candidate is visible through any dossier of the perimeter.
    register(Candidat, Scope({level: (lambda p: Candidat.candidatures.any(criterion(Candidature, p)))
                              for level in dossier}))
    register(RattachementDemande, Scope({
        "dispositif": "candidature.dispositif_id",
        "reseau": "etablissement_demandeur.organisme.reseau_id",
        "organisme": "etablissement_demandeur.organisme_id",
        "etablissement": "etablissement_demandeur_id"}))


_declare()


def secretariat_dispositif(p: Perimetre) -> int | None:
    """The dispositif a secretariat works for — the only one where it creates dossiers,
    organises juries and decides (R-DIS-1); None for every other role."""
    return p.valeur if p.role == "secretariat" else None
