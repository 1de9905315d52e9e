"""The dossier workflow engine: one table of allowed moves per kind of dispositif, one guard.

The table is keyed by the dispositif's `structure_evaluation` (R-DIS-2: a new dispositif set to
"competences" runs the chemical workflow, etc.). Each Move names the statuses it starts from, the
statuses it may lead to, the roles that may run it and whether it may touch a locked dossier.
`check()` is the only guard: the dossier page shows a button when `allowed_actions()` lists it, and
the POST/REST endpoints run the same `check()` inside the verb functions (app/workflow/dossier/candidatures.py,
evaluations.py, documents.py, vae.py, rattachements.py).
"""
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.models import Profil
from app.models.base import utcnow
from app.models.candidature import STATUTS, Candidature, Historique
from app.models.statuts import DECIDED, LOCKED
from app.security import perimeter, roles
from app.security.perimeter import Perimetre

SYSTEM = Perimetre(None, "system", None, None)  # daily jobs (abandon-stale, alerts)

EMP, SEC, EV, JURY = "employeur", "secretariat", "evaluateur", "jury"
ORG = ("admin_reseau", "admin_organisme", "utilisateur_organisme", "admin_etablissement",
       "utilisateur_etablissement")
# R-EVA-5: "Administrateur organisme and above" reopen a finalised evaluation.
REOPENERS = ("admin_reseau", "admin_organisme", SEC)


class NotAllowed(RuleViolation):
    """The user's role may not do this at all (views answer 403)."""


@dataclass(frozen=True)
class Move:
    verb: str
    label: str
    sources: frozenset
    targets: frozenset = frozenset()   # empty: the status does not change
    roles: frozenset = frozenset()
    grant: tuple | None = None         # (area, named permission) also required in GRANTS
    on_locked: bool = False            # may run on a locked dossier (R-WF-3)
    system: bool = False               # called by code (jury, finalisation, jobs), never a button
    button: bool = True                # offered on the dossier page
    style: str = "default"
    confirm: str | None = None


# What each verb answers once done (issue 16 item 6): what happened, then what comes next. The
# next step follows from the status reached, so it is read from the dossier after the move.
DONE = {
    "add_amenagement": "Aménagement enregistré : il figurera dans le dossier présenté au {jury}.",
    "add_formation": "Formation enregistrée.",
    "complete_and_resend": "Dossier complété et renvoyé : il attend une nouvelle affectation à un "
                           "{jury}.",
    "confirm_evaluator": "Évaluateur habilité confirmé : il est prévenu et peut fixer la date de "
                         "l'évaluation.",
    "decide_recevabilite": "Décision de recevabilité enregistrée.",
    "declare_abandon": "Dossier abandonné : il peut être réintégré tant que le dispositif le "
                       "permet.",
    "edit": "Fiche enregistrée.",
    "enter_commission_results": "Résultats de la commission enregistrés.",
    "enter_results": "Résultats enregistrés.",
    "finalize_evaluation": "Évaluation finalisée.",
    "invite_metier": "Invitation envoyée à l'évaluateur métier : il reçoit un lien pour saisir ses "
                     "observations.",
    "open_evaluation": "Évaluation ouverte : saisissez les résultats de la commission.",
    "plan_evaluation": "Date de l'évaluation enregistrée.",
    "reinstate": "Dossier réintégré.",
    "reopen_evaluation": "Évaluation rouverte : elle peut de nouveau être modifiée puis finalisée.",
    "request_complement": "Complément demandé à l'organisme.",
    "save_evaluation": "Évaluation enregistrée : vous pouvez la reprendre plus tard.",
    "send_to_certification": "Dossier envoyé en certification : il attend son {jury}.",
    "start_evaluation": "Évaluation créée : saisissez les résultats.",
    "submit_to_jury": "Dossier {sent} : il ne peut plus être modifié et attend l'affectation à "
                      "un {jury}.",
    "unlock": "Inscription annulée : le dossier peut de nouveau être modifié.",
    "upload_document": "Document ajouté.",
    "upload_evaluation_document": "Document d'évaluation ajouté.",
}


PLACED = {  # the moves towards the jury, when the dossier landed in a jury at once
    "submit_to_jury": "Dossier {sent} : inscrit au {jury} du {date} ; il ne peut plus être modifié.",
    "send_to_certification": "Dossier envoyé en certification : inscrit au {jury} du {date}.",
    "complete_and_resend": "Dossier complété et renvoyé : inscrit au {jury} du {date}.",
}


def done_message(c: "Candidature", verb_name: str, placed=None) -> str:
    """The success message of a verb just run on `c`, ending on the status the dossier is in now;
    `placed`: the jury a move towards the jury registered it to (else it waits for one)."""
    wf = workflow_of(c)
    if placed is not None and verb_name in PLACED:
        text = PLACED[verb_name].format(jury=wf.jury, sent=wf.sent, date=f"{placed.date:%d/%m/%Y}")
    else:
        text = DONE.get(verb_name, "Action enregistrée.").format(jury=wf.jury, sent=wf.sent)
    return f"{text} Statut du dossier : {STATUTS.label(c.statut)}."


def _m(verb, label, sources, targets=(), roles=(), **kw):
    return Move(verb, label, frozenset(sources), frozenset(targets), frozenset(roles), **kw)


@dataclass
class Workflow:
    key: str
    statuses: list            # in the order the users read them
    initial: str
    initial_vae: str | None
    locked: frozenset         # R-WF-3
    final: frozenset
    rule: str                 # the rule listing the statuses
    moves: dict = field(default_factory=dict)
    # How the dispositif's own users say it (R-DIS-2): what happened to a dossier that went to the
    # jury, and what its jury is called — on its dossiers, refusals and e-mails.
    sent: str = "envoyé au jury"
    jury: str = "jury"

    def pairs(self) -> set:
        """Every (from, to) status change the table allows."""
        return {(s, t) for m in self.moves.values() for s in m.sources for t in m.targets}


def _workflow(key, statuses, initial, initial_vae, rule, moves, sent, jury):
    # Locked and final statuses are the named sets (app/models/statuts.py) within this workflow.
    return Workflow(key, statuses, initial, initial_vae,
                    frozenset(s for s in statuses if s in LOCKED),
                    frozenset(s for s in statuses if s in DECIDED), rule,
                    {m.verb: m for m in moves}, sent, jury)


# --- CQP des industries chimiques (R-WF-1) -------------------------------------------------------
_C_OPEN = ("en_attente_recevabilite", "en_cours_inscription", "en_attente_evaluation")
CHIMIE = _workflow(
    "competences",
    ["en_attente_recevabilite", "recevabilite_refusee", "en_cours_inscription",
     "en_attente_evaluation", "en_attente_jury", "valide", "partiel", "non_valide", "abandonnee"],
    "en_cours_inscription", "en_attente_recevabilite", "R-WF-1",
    [
        _m("edit", "Modifier la fiche", _C_OPEN, roles=(EMP, SEC), button=False),
        _m("upload_document", "Ajouter un document", _C_OPEN, roles=(EMP, SEC), button=False),
        _m("add_amenagement", "Ajouter un aménagement", _C_OPEN, roles=(EMP, SEC), button=False),
        _m("decide_recevabilite", "Décider de la recevabilité", ["en_attente_recevabilite"],
           ["en_cours_inscription", "recevabilite_refusee"], (SEC,), style="primary"),
        _m("confirm_evaluator", "Confirmer l'évaluateur habilité", ["en_cours_inscription"],
           ["en_attente_evaluation"], (EMP, SEC), style="primary"),
        _m("plan_evaluation", "Modifier la date d'évaluation", ["en_attente_evaluation"],
           roles=(EMP, EV, SEC)),
        _m("invite_metier", "Inviter l'évaluateur métier", ["en_attente_evaluation"], roles=(EV,),
           style="primary"),
        _m("enter_results", "Saisir les résultats", ["en_attente_evaluation"], roles=(EV,),
           button=False),
        _m("upload_evaluation_document", "Téléverser l'outil n°4", ["en_attente_evaluation"],
           roles=(EV,), button=False),
        _m("reopen_evaluation", "Rouvrir l'évaluation", ["en_attente_evaluation"], roles=(SEC,),
           grant=("Evaluations", "reopen"), button=False),
        _m("submit_to_jury", "Inscrire au jury", ["en_attente_evaluation"], ["en_attente_jury"],
           (EMP, SEC), style="success",
           confirm="Le dossier ne pourra plus être modifié. Confirmer l'inscription au jury ?"),
        _m("unlock", "Annuler l'inscription au jury", ["en_attente_jury"], ["en_attente_evaluation"],
           (SEC,), grant=("Candidatures", "unlock"), on_locked=True, style="warning"),
        _m("apply_decision", "Décision du jury", ["en_attente_jury"],
           ["valide", "partiel", "non_valide"], (SEC, JURY), on_locked=True, system=True),
        _m("declare_abandon", "Abandonner", _C_OPEN, ["abandonnee"], (EMP, SEC), style="danger"),
        _m("reinstate", "Réintégrer le dossier", ["abandonnee"], _C_OPEN, (EMP, SEC)),
    ],
    sent="inscrit au jury", jury="jury paritaire national",
)

# --- CléA (R-WF-2) ---------------------------------------------------------------------------------
_L_OPEN = ("en_attente_evaluation_prealable", "en_attente_evaluation_finale",
           "en_attente_envoi_certification")
_L_EVAL = ("en_attente_evaluation_prealable", "en_attente_evaluation_finale")
_ORG_SEC = ORG + (SEC,)
CLEA = _workflow(
    "domaines_clea",
    ["en_attente_evaluation_prealable", "en_attente_evaluation_finale",
     "en_attente_envoi_certification", "en_attente_jury", "en_attente_complement",
     "candidature_completee", "certifiee", "non_certifiee", "abandonnee"],
    "en_attente_evaluation_prealable", None, "R-WF-2",
    [
        _m("edit", "Modifier la fiche", _L_OPEN + ("en_attente_complement",), roles=_ORG_SEC,
           button=False),
        _m("upload_document", "Ajouter un document", _L_OPEN + ("en_attente_complement",),
           roles=_ORG_SEC, button=False),
        _m("add_amenagement", "Ajouter un aménagement", _L_OPEN, roles=_ORG_SEC, button=False),
        _m("start_evaluation", "Ajouter une évaluation", _L_EVAL, roles=ORG, style="primary",
           button=False),
        _m("save_evaluation", "Enregistrer l'évaluation", _L_EVAL, roles=ORG, button=False),
        _m("upload_evaluation_document", "Ajouter un document d'évaluation", _L_EVAL, roles=ORG,
           button=False),
        _m("finalize_evaluation", "Finaliser l'évaluation", _L_EVAL,
           ["en_attente_evaluation_finale", "en_attente_envoi_certification"], ORG, button=False),
        _m("reopen_evaluation", "Modifier l'évaluation (rouvrir)",
           ["en_attente_evaluation_finale", "en_attente_envoi_certification"], _L_EVAL, REOPENERS,
           grant=("Evaluations", "reopen"), button=False),
        _m("add_formation", "Ajouter une formation", _L_OPEN, roles=ORG, button=False),
        _m("send_to_certification", "Envoyer en certification", ["en_attente_envoi_certification"],
           ["en_attente_jury"], ORG, style="success",
           confirm="Après l'envoi, vous ne pourrez plus modifier ce dossier. Confirmer l'envoi en "
                   "certification ?"),
        _m("unlock", "Annuler l'envoi en certification", ["en_attente_jury"],
           ["en_attente_envoi_certification"], ("admin_reseau", SEC),
           grant=("Candidatures", "unlock"), on_locked=True, style="warning"),
        _m("request_complement", "Demander un complément", ["en_attente_jury"],
           ["en_attente_complement"], (SEC, JURY), on_locked=True, system=True),
        _m("complete_and_resend", "Renvoyer le dossier complété", ["en_attente_complement"],
           ["candidature_completee"], ORG, style="success",
           confirm="Le dossier complété repart au jury et ne pourra plus être modifié. Confirmer ?"),
        _m("apply_decision", "Décision du jury", ["en_attente_jury", "candidature_completee"],
           ["certifiee", "non_certifiee"], (SEC, JURY), on_locked=True, system=True),
        _m("declare_abandon", "Abandonner", _L_OPEN, ["abandonnee"], _ORG_SEC, style="danger"),
        _m("reinstate", "Réintégrer le dossier", ["abandonnee"], _L_OPEN, _ORG_SEC),
        _m("auto_abandon", "Abandon automatique", _L_OPEN, ["abandonnee"], (), system=True),
    ],
    sent="envoyé en certification", jury="jury de certification CléA",
)

# --- CQPM / CCPM de la métallurgie ---------------------------------------------------------------
_M_OPEN = ("en_attente_recevabilite", "inscription", "evaluation")
_HOLD = (EMP,) + ORG + (SEC,)
METALLURGIE = _workflow(
    "blocs",
    ["en_attente_recevabilite", "recevabilite_refusee", "inscription", "evaluation",
     "en_attente_jury", "admis", "non_admis", "abandonnee"],
    "inscription", "en_attente_recevabilite", "R-WF-1",
    [
        _m("edit", "Modifier la fiche", _M_OPEN, roles=_HOLD, button=False),
        _m("upload_document", "Ajouter un document", _M_OPEN, roles=_HOLD, button=False),
        _m("add_amenagement", "Ajouter un aménagement", _M_OPEN, roles=_HOLD, button=False),
        _m("decide_recevabilite", "Décider de la recevabilité", ["en_attente_recevabilite"],
           ["inscription", "recevabilite_refusee"], (SEC,), style="primary"),
        _m("open_evaluation", "Ouvrir l'évaluation", ["inscription"], ["evaluation"], _HOLD,
           style="primary"),
        _m("enter_commission_results", "Saisir les résultats de la commission", ["evaluation"],
           roles=_HOLD, button=False),
        _m("upload_evaluation_document", "Ajouter un document d'évaluation", ["evaluation"],
           roles=_HOLD, button=False),
        _m("reopen_evaluation", "Rouvrir l'évaluation", ["evaluation"], roles=REOPENERS,
           grant=("Evaluations", "reopen"), button=False),
        _m("submit_to_jury", "Présenter au jury", ["evaluation"], ["en_attente_jury"], _HOLD,
           style="success", confirm="Le dossier ne pourra plus être modifié. Confirmer ?"),
        _m("unlock", "Annuler la présentation au jury", ["en_attente_jury"], ["evaluation"],
           ("admin_reseau", SEC), grant=("Candidatures", "unlock"), on_locked=True,
           style="warning"),
        _m("apply_decision", "Décision du jury", ["en_attente_jury"], ["admis", "non_admis"],
           (SEC, JURY), on_locked=True, system=True),
        _m("declare_abandon", "Abandonner", _M_OPEN, ["abandonnee"], _HOLD, style="danger"),
        _m("reinstate", "Réintégrer le dossier", ["abandonnee"], _M_OPEN, _HOLD),
    ],
    sent="présenté au jury", jury="jury paritaire de délibération",
)

WORKFLOWS = {w.key: w for w in (CHIMIE, CLEA, METALLURGIE)}
assert all(s in STATUTS.codes for w in WORKFLOWS.values() for s in w.statuses)
# The named sets serve every workflow because no decision code is shared between vocabularies.
assert all(sum(s in w.statuses for w in WORKFLOWS.values()) == 1 for s in DECIDED)


def workflow_for(dispositif) -> Workflow:
    return WORKFLOWS[dispositif.structure_evaluation]


def workflow_of(c: Candidature) -> Workflow:
    return workflow_for(c.dispositif)


def is_locked(c: Candidature) -> bool:
    """R-WF-3: sent to certification / the jury, or decided."""
    return c.statut in LOCKED


def is_open(c: Candidature) -> bool:
    """Editable at all: neither locked nor abandoned nor refused."""
    wf = workflow_of(c)
    return c.statut in wf.moves["edit"].sources


# --- preconditions, declared by the verb modules next to their rules ------------------------------
# verb -> [fn(p, c)] raising RuleViolation when the move's domain condition is not met. The verb
# modules declare them at import; app/workflow/verbs.py, imported by create_app(), imports them all.
PRECONDITIONS: dict[str, list] = {}


def precondition(*verbs):
    """Declare fn(p, c) raising RuleViolation when a move's domain condition is not met."""
    def deco(fn):
        for verb in verbs:
            PRECONDITIONS.setdefault(verb, []).append(fn)
        return fn
    return deco


# --- the guard ------------------------------------------------------------------------------------
def _check_static(p: Perimetre, c: Candidature, move: Move | None, verb_name: str, internal: bool):
    wf = workflow_of(c)
    if move is None:
        raise NotAllowed(f"L'action « {verb_name} » n'existe pas pour le dispositif "
                         f"{c.dispositif.nom}.", wf.rule)
    if p.role == "system":
        if not move.system:
            raise NotAllowed("Action réservée aux utilisateurs.", wf.rule)
    else:
        if move.system and not internal:
            raise NotAllowed(f"« {move.label} » se fait depuis l'écran du jury.", wf.rule)
        if p.role not in move.roles:
            raise NotAllowed(f"Votre rôle ne permet pas l'action « {move.label} ».", "R-ACC-5")
        if move.grant and not roles.allowed(p.role, *move.grant):
            raise NotAllowed(f"Votre rôle ne permet pas l'action « {move.label} ».", "R-ACC-5")
        if not perimeter.contains(c, p, "read"):
            raise PerimeterViolation()
        if p.role == EV:
            if c.evaluateur_id != p.user_id:
                raise PerimeterViolation()
        elif p.role != JURY and not perimeter.contains(c, p, "write"):
            raise PerimeterViolation()
    # The lock first: a locked dossier is refused because it is locked (R-WF-3), whatever the
    # move's usual steps say.
    if c.statut in wf.locked and not move.on_locked:
        raise RuleViolation(locked_reason(c), "R-WF-3")
    if c.statut not in move.sources:
        raise RuleViolation(status_reason(wf, move, c.statut), wf.rule)


def locked_reason(c: Candidature) -> str:
    """Why a locked dossier refuses a change, in its dispositif's words (R-WF-3)."""
    wf = workflow_of(c)
    if c.statut in wf.final:
        return (f"Le jury a statué sur ce dossier (« {STATUTS.label(c.statut)} ») : il ne peut "
                "plus être modifié.")
    unlock = wf.moves["unlock"]
    who = ("un administrateur de réseau ou le secrétariat du dispositif"
           if "admin_reseau" in unlock.roles else "le secrétariat du dispositif")
    return (f"Ce dossier est {wf.sent} : il est verrouillé et ne peut plus être modifié. Seul "
            f"{who} peut {unlock.label[:1].lower()}{unlock.label[1:]}.")


def status_reason(wf: Workflow, move: Move, statut: str) -> str:
    """Why a move does not apply to a dossier in `statut`: abandoned, already past it, or an
    earlier step still open (R-WF-1)."""
    label = STATUTS.label(statut)
    if statut == "abandonnee":
        return f"Le dossier est abandonné : « {move.label} » n'est possible qu'après sa réintégration."
    order = {s: i for i, s in enumerate(wf.statuses)}
    if statut in order and all(order.get(s, -1) < order[statut] for s in move.sources):
        return f"« {move.label} » n'est plus possible : le dossier est « {label} »."
    return (f"« {move.label} » n'est pas encore possible : le dossier est « {label} » et les "
            "étapes précédentes doivent d'abord être terminées.")


def check(p: Perimetre, c: Candidature, verb_name: str, internal: bool = False) -> Move:
    """The guard of every move: role, perimeter, status, lock, then the domain preconditions."""
    move = workflow_of(c).moves.get(verb_name)
    _check_static(p, c, move, verb_name, internal)
    for fn in PRECONDITIONS.get(verb_name, []):
        fn(p, c)
    return move


def action_states(p: Perimetre, c: Candidature) -> list[tuple[Move, str | None]]:
    """The buttons of the dossier page: (move, None) when allowed now, (move, reason) when only a
    domain condition is missing. Moves the user can never do here are left out."""
    states = []
    for move in workflow_of(c).moves.values():
        if move.system:
            continue
        try:
            _check_static(p, c, move, move.verb, False)
        except RuleViolation:
            continue
        try:
            for fn in PRECONDITIONS.get(move.verb, []):
                fn(p, c)
        except RuleViolation as exc:
            states.append((move, str(exc)))
        else:
            states.append((move, None))
    return states


def allowed_actions(p: Perimetre, c: Candidature) -> list[str]:
    """Verbs `p` may run on `c` now — the same answer the POST endpoints give."""
    return [m.verb for m, reason in action_states(p, c) if reason is None]


def can(p: Perimetre, c: Candidature, verb_name: str) -> bool:
    try:
        check(p, c, verb_name)
    except RuleViolation:
        return False
    return True


# --- history (R-WF-5) ---------------------------------------------------------------------------
def author_name(p: Perimetre) -> str:
    """The name a history line shows for `p` (« Système » for jobs)."""
    if p.user_id is None:
        return "Système"
    user = db.session.get(User, p.user_id)
    return f"{user.first_name} {user.last_name}" if user else "Système"


def record(p: Perimetre | None, c: Candidature, action: str, libelle: str, commentaire=None,
           auteur: str | None = None) -> Historique:
    """An event line without status change (document added, invitation sent…)."""
    p = p or SYSTEM
    row = Historique(candidature=c, statut_avant=c.statut, statut_apres=c.statut, action=action,
                     libelle=libelle[:200], commentaire=(commentaire or None),
                     user_id=p.user_id, auteur=auteur or author_name(p))
    db.session.add(row)
    return row


def set_status(p: Perimetre, c: Candidature, verb_name: str, target: str, commentaire=None,
               libelle: str | None = None) -> Historique:
    """Change the status along the table — the only place that writes `statut` after creation."""
    move = workflow_of(c).moves[verb_name]
    if target != c.statut and target not in move.targets:
        raise RuleViolation(f"« {move.label} » ne mène pas au statut « {STATUTS.label(target)} ».",
                            workflow_of(c).rule)
    row = Historique(candidature=c, statut_avant=c.statut, statut_apres=target, action=verb_name,
                     libelle=(libelle or move.label)[:200], commentaire=commentaire or None,
                     user_id=p.user_id, auteur=author_name(p))
    db.session.add(row)
    c.statut = target
    c.updated_on = utcnow()
    return row


# --- who hears about a dossier ------------------------------------------------------------------
def holders(c: Candidature) -> list[User]:
    """The users who hold the dossier: its établissement, its organisme's accounts, its company's
    employer accounts."""
    conds = []
    if c.etablissement_id:
        conds.append(Profil.etablissement_id == c.etablissement_id)
    if c.organisme_id:  # the organisme's own accounts (administrators and users) follow it
        conds.append(sa.and_(Profil.organisme_id == c.organisme_id,
                             Profil.role.in_(("admin_organisme", "utilisateur_organisme"))))
    if c.entreprise_id:
        conds.append(sa.and_(Profil.entreprise_id == c.entreprise_id, Profil.role == EMP))
    if not conds:
        return []
    return (db.session.query(User).join(Profil, Profil.user_id == User.id)
            .filter(User.active.is_(True), sa.or_(*conds)).all())


def secretariat_of(dispositif_id) -> list[User]:
    return (db.session.query(User).join(Profil, Profil.user_id == User.id)
            .filter(User.active.is_(True), Profil.role == SEC,
                    Profil.dispositif_id == dispositif_id).all())


def dossier_link(c: Candidature) -> str:
    """Path of the dossier page (no request context needed: used by jobs and mails too)."""
    return f"/dossier/{c.id}"
