"""The jury approves its PV in the platform (issue 19 item 3; R-JUR-8: the president signs the PV).

Issued documents never change (DESIGN practice 9), so:
- the PV the secretariat issues after closing is the draft submitted for approval;
- each voting member approves it from their account (any order), the president last; each
  approval records who, when, the SHA-256 of the exact file approved and the second factor used
  (asked when the account has one enabled);
- the president's approval issues the approved PV: a new document (docs.correct, the existing
  replacement mechanism) whose last page lists the approvals, sealed like every issued document;
  the draft stays in history, revoked as replaced by it.
A dispositif that keeps the handwritten signature (`pv_signature_papier`) skips all of this: its
PV keeps the president's signature block and is not approved here.

DOMAIN.md is silent on an order among members; the president approving last follows R-JUR-8 (he
signs what the jury adopted). Seats without an account (a person only named on the composition)
cannot approve in the platform: they are not waited for and the approved PV names them apart.
A president without an account signs the printed draft on paper; the secretariat records it
(`record_paper_signature`: the day signed, who recorded it), which issues the approved PV through
the same path as his approval, last page saying so.
"""
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, load_only

from app.errors import PerimeterViolation, RuleViolation
from app.extensions import db
from app.formats import format_datetime_fr, to_paris
from app.models.approbation_pv import ApprobationPV
from app.models.base import utcnow
from app.models.document import DocumentEmis
from app.models.jury import Jury, JuryMembre
from app.models.referentiel import Dispositif
from app.security.perimeter import Perimetre
from app.workflow.engine import NotAllowed
from app.workflow.jury.composition import AlreadyDone

# Who approves: every seated voting member of the delegations, and the president.
NOT_APPROVING = ("invite", "president")
MOTIF = "procès-verbal approuvé par le jury dans la plateforme"
_PV_COLUMNS = (DocumentEmis.id, DocumentEmis.numero, DocumentEmis.sha256, DocumentEmis.emis_le,
               DocumentEmis.remplace_id, DocumentEmis.statut, DocumentEmis.jury_id,
               DocumentEmis.dispositif_id, DocumentEmis.code_verification, DocumentEmis.type)


# -- who approves -------------------------------------------------------------------------------
def voting_seats(jury: Jury) -> list[JuryMembre]:
    """The voting members other than the president (R-JUR-5: guests have no vote, only one
    representative per union votes), seated (a person, not a union still to designate)."""
    return [m for m in jury.membres
            if m.college not in NOT_APPROVING and m.votant and m.designe]


def seat_quality(m: JuryMembre) -> str:
    """How the approved PV names a seat: college, then quality or organisation (or union)."""
    detail = m.syndicat if m.college == "salaries" and m.syndicat else (m.qualite or m.organisation)
    return f"{m.college_label} — {detail}" if detail else m.college_label


def platform_approval(jury: Jury) -> bool:
    """Whether this jury's PV is approved in the platform (else signed on paper)."""
    return not jury.dispositif.pv_signature_papier


# -- what is there ------------------------------------------------------------------------------
def current_pv(jury_id: int) -> DocumentEmis | None:
    """The jury's valid PV (one at most: uq_document_original), draft or approved."""
    return (db.session.query(DocumentEmis).options(load_only(*_PV_COLUMNS))
            .filter(DocumentEmis.jury_id == jury_id, DocumentEmis.type == "pv",
                    DocumentEmis.statut == "valide")
            .order_by(DocumentEmis.id.desc()).first())


def _approvals(document_id) -> list[ApprobationPV]:
    return (db.session.query(ApprobationPV).filter(ApprobationPV.document_id == document_id)
            .order_by(ApprobationPV.approuve_le, ApprobationPV.id).all())


def _issuing_approval(pv: DocumentEmis) -> ApprobationPV | None:
    """The president's approval that issued `pv`, if `pv` is an approved PV."""
    return db.session.query(ApprobationPV).filter(ApprobationPV.pv_emis_id == pv.id).one_or_none()


@dataclass
class Etat:
    """Where the approval of a jury's PV stands, for the jury page and the member's page.
    mode: papier (the dispositif signs on paper) | sans_pv (not issued yet) | a_approuver | approuve."""
    mode: str
    pv: DocumentEmis | None = None           # the valid PV (the draft, or the approved one)
    brouillon_id: int | None = None          # the draft approved (replaced once approved)
    lignes: list = field(default_factory=list)      # [(member, ApprobationPV | None)]
    sans_compte: list = field(default_factory=list)  # seats that cannot approve here
    president: JuryMembre | None = None
    president_approbation: ApprobationPV | None = None

    @property
    def manquants(self) -> list[JuryMembre]:
        return [m for m, a in self.lignes if a is None]

    def approbation_de(self, user_id) -> ApprobationPV | None:
        found = [a for _, a in self.lignes if a is not None and a.user_id == user_id]
        if self.president_approbation is not None and self.president_approbation.user_id == user_id:
            found.append(self.president_approbation)
        return found[0] if found else None


def status(jury: Jury) -> Etat:
    """Who has approved the jury's PV and who has not (two statements)."""
    if not platform_approval(jury):
        return Etat("papier")
    pv = current_pv(jury.id)
    if pv is None:
        return Etat("sans_pv")
    issuing = _issuing_approval(pv)
    draft_id = issuing.document_id if issuing is not None else pv.id
    done = {a.membre_id: a for a in _approvals(draft_id)}
    seats = voting_seats(jury)
    president = jury.president_membre
    return Etat("approuve" if issuing is not None else "a_approuver", pv, draft_id,
                [(m, done.get(m.id)) for m in seats if m.user_id is not None],
                [m for m in seats if m.user_id is None], president,
                done.get(president.id) if president is not None else None)


# -- approving ------------------------------------------------------------------------------------
def _when(moment) -> str:
    return format_datetime_fr(moment).replace(" ", " à ", 1)


def approve(p: Perimetre, jury: Jury, code: str | None = None,
            adresse: str | None = None) -> ApprobationPV:
    """A voting member or the president approves the jury's PV from their account (second factor
    when the account has one). The president approves last; his approval issues the approved PV
    (row.pv_emis_id). Once per seat: the jury row is locked (PostgreSQL) while the approvals are
    read and written, and uq_approbation_pv_membre backs it. Flushes; the caller commits."""
    from app.security import totp
    member = next((m for m in jury.membres if p.user_id and m.user_id == p.user_id), None)
    if member is None:
        if p.role == "jury":
            raise PerimeterViolation()
        raise NotAllowed("Seuls les membres votants du jury et son président approuvent le "
                         "procès-verbal.", "R-JUR-8")
    president = member.college == "president"
    if not president and (member.college == "invite" or not member.votant):
        raise NotAllowed("Les invités et les membres sans voix délibérative n'approuvent pas le "
                         "procès-verbal.", "R-JUR-5")
    _ensure_platform(jury)
    pv, issuing, mine = _locked_draft(jury, member)
    if mine is not None:
        raise AlreadyDone(f"Vous avez déjà approuvé ce procès-verbal le {_when(mine.approuve_le)} : "
                          "rien n'a été enregistré une seconde fois.", "R-JUR-8")
    _ensure_not_issued(pv, issuing)
    if president:
        if jury.president_membre is not member:
            raise RuleViolation("Le jury a plusieurs présidents : corrigez sa composition.", "R-JUR-5")
        _ensure_members_first(jury, pv, "Le président approuve le procès-verbal en dernier")
    user = db.session.get(User, p.user_id)
    second = None
    if totp.active(user):
        if not (code or "").strip():
            raise RuleViolation("Saisissez le code affiché par votre application d'authentification "
                                "(ou un code de secours).", field="code")
        totp.compter_essai(user.id, adresse or "")
        second = totp.verifier(user, code)
    row = ApprobationPV(jury_id=jury.id, document_id=pv.id, sha256=pv.sha256, membre_id=member.id,
                        user_id=user.id, nom=member.nom_complet, qualite=seat_quality(member),
                        president=president, second_facteur=second,
                        approuve_le=utcnow().replace(microsecond=0))
    _insert(row, "Vous avez déjà approuvé ce procès-verbal : rien n'a été enregistré une seconde "
                 "fois.")
    if president:
        row.pv_emis_id = _issue_approved(jury, pv.id, user.id).id
        db.session.flush()
    return row


def record_paper_signature(p: Perimetre, jury: Jury, signe_le) -> ApprobationPV:
    """The president has no account: he signed the printed draft, and the secretariat records it
    (the day signed, who recorded it). Like his approval, it comes after the members' approvals
    and issues the approved PV, whose last page says so. Once: the same row lock and the same
    unique seat (uq_approbation_pv_membre) as `approve`. Flushes; the caller commits."""
    from app.models.base import today
    from app.workflow.jury.sessions import ensure_organiser
    ensure_organiser(p, jury.dispositif_id)
    _ensure_platform(jury)
    president = jury.president_membre
    if president is None:
        raise RuleViolation("Le jury n'a pas de président : complétez sa composition.", "R-JUR-5")
    if president.user_id is not None:
        raise RuleViolation("Le président a un compte dans la plateforme : il approuve le "
                            "procès-verbal depuis son compte.", "R-JUR-8")
    pv, issuing, mine = _locked_draft(jury, president)
    if mine is not None:
        raise AlreadyDone(f"La signature du président sur papier est déjà enregistrée (par "
                          f"{mine.enregistre_par or 'le secrétariat'}, le "
                          f"{_when(mine.approuve_le)}) : rien n'a été enregistré une seconde "
                          "fois.", "R-JUR-8")
    _ensure_not_issued(pv, issuing)
    if signe_le is None:
        raise RuleViolation("Indiquez la date à laquelle le président a signé le procès-verbal.",
                            "R-JUR-8", field="signe_le")
    issued_on = to_paris(pv.emis_le).date()
    if signe_le > today() or signe_le < issued_on:
        raise RuleViolation(f"La date de signature va du {issued_on:%d/%m/%Y} (émission du "
                            "projet de procès-verbal) à aujourd'hui.", "R-JUR-8", field="signe_le")
    _ensure_members_first(jury, pv, "Le président signe le procès-verbal en dernier")
    recorder = db.session.get(User, p.user_id) if p.user_id else None
    row = ApprobationPV(jury_id=jury.id, document_id=pv.id, sha256=pv.sha256,
                        membre_id=president.id, user_id=None, nom=president.nom_complet,
                        qualite=seat_quality(president), president=True,
                        approuve_le=utcnow().replace(microsecond=0), signe_sur_papier_le=signe_le,
                        enregistre_par_id=recorder.id if recorder else None,
                        enregistre_par=(f"{recorder.first_name} {recorder.last_name}"
                                        if recorder else "Administrateur"))
    _insert(row, "La signature du président sur papier est déjà enregistrée : rien n'a été "
                 "enregistré une seconde fois.")
    row.pv_emis_id = _issue_approved(jury, pv.id, row.enregistre_par_id).id
    db.session.flush()
    return row


def _ensure_platform(jury: Jury) -> None:
    if not platform_approval(jury):
        raise RuleViolation("Dans ce dispositif, le président signe le procès-verbal sur papier : "
                            "il ne s'approuve pas dans la plateforme.", "R-JUR-8")


def _locked_draft(jury: Jury, seat: JuryMembre):
    """(valid PV, the approval that issued it if any, this seat's approval of the draft), read
    with the jury row locked (PostgreSQL) until the caller commits: one writer at a time."""
    db.session.execute(sa.select(Jury.id).where(Jury.id == jury.id).with_for_update())
    pv = current_pv(jury.id)
    if pv is None:
        raise RuleViolation("Le procès-verbal n'est pas encore émis : le secrétariat l'émet une "
                            "fois le jury clos.", "R-DOC-1")
    issuing = _issuing_approval(pv)
    draft_id = issuing.document_id if issuing is not None else pv.id
    mine = (db.session.query(ApprobationPV)
            .filter(ApprobationPV.document_id == draft_id, ApprobationPV.membre_id == seat.id)
            .one_or_none())
    return pv, issuing, mine


def _ensure_not_issued(pv: DocumentEmis, issuing) -> None:
    if issuing is not None:
        raise RuleViolation(f"Le procès-verbal approuvé est déjà émis (n° {pv.numero}) : il ne "
                            "s'approuve plus.", "R-JUR-8")


def _ensure_members_first(jury: Jury, pv: DocumentEmis, lead: str) -> None:
    done = {a.membre_id for a in _approvals(pv.id)}
    waiting = [m for m in voting_seats(jury) if m.user_id is not None and m.id not in done]
    if waiting:
        names = ", ".join(m.nom_complet for m in waiting[:5])
        raise RuleViolation(f"{lead} : {len(waiting)} membre(s) ne l'ont pas encore approuvé "
                            f"({names}).", "R-JUR-8")


def _insert(row: ApprobationPV, already: str) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        # Another request for the same seat got in first (only possible without the row lock).
        raise AlreadyDone(already, "R-JUR-8")


def approval_data(jury: Jury, draft: DocumentEmis) -> dict:
    """The approvals as the approved PV prints them on its last page (frozen in its data)."""
    rows = _approvals(draft.id)
    return {"pv_numero": draft.numero, "pv_sha256": draft.sha256,
            "pv_emis_le": draft.emis_le.isoformat(timespec="seconds"),
            "approbations": [{"nom": a.nom, "qualite": a.qualite, "president": a.president,
                              "approuve_le": a.approuve_le.isoformat(timespec="seconds"),
                              "second_facteur": a.second_facteur_label, "sha256": a.sha256,
                              "papier": (a.signe_sur_papier_le.isoformat()
                                         if a.signe_sur_papier_le else None),
                              "enregistre_par": a.enregistre_par}
                             for a in sorted(rows, key=lambda a: (a.president, a.approuve_le, a.id))],
            "sans_compte": [{"nom": m.nom_complet, "qualite": seat_quality(m)}
                            for m in voting_seats(jury) if m.user_id is None]}


def _issue_approved(jury: Jury, draft_id: int, president_id: int) -> DocumentEmis:
    """The approved PV: the draft's data plus the approvals, a new number, sealed; the draft is
    revoked as replaced by it (docs.correct keeps the one-valid-original key)."""
    from app.workflow.issued import documents as docs
    draft = db.session.get(DocumentEmis, draft_id)
    return docs.correct(draft, {"approbation": approval_data(jury, draft)}, motif=MOTIF,
                        emis_par=president_id)


# -- the member's to-do --------------------------------------------------------------------------
def pending_query(user_id: int):
    """(Jury, PV) pairs whose PV waits for this account's approval: a voting member who has not
    approved yet, or the president once every voting member with an account has. The home's
    count and the list it opens are this one query."""
    pv, me, other = aliased(DocumentEmis), aliased(JuryMembre), aliased(JuryMembre)

    def approved_by(seat):
        return sa.exists().where(ApprobationPV.document_id == pv.id,
                                 ApprobationPV.membre_id == seat.id)

    member_waits = sa.exists().where(
        other.jury_id == me.jury_id, other.college.notin_(NOT_APPROVING),
        other.votant.is_(True), other.user_id.isnot(None), ~approved_by(other))
    issued_by_approval = sa.exists().where(ApprobationPV.pv_emis_id == pv.id)
    return (db.session.query(Jury, pv).options(load_only(*[getattr(pv, c.key) for c in _PV_COLUMNS]))
            .join(me, me.jury_id == Jury.id)
            .join(pv, sa.and_(pv.jury_id == Jury.id, pv.type == "pv", pv.statut == "valide"))
            .join(Dispositif, Dispositif.id == Jury.dispositif_id)
            .filter(me.user_id == user_id, Dispositif.pv_signature_papier.is_(False),
                    sa.or_(sa.and_(me.college.notin_(NOT_APPROVING), me.votant.is_(True)),
                           sa.and_(me.college == "president", ~member_waits)),
                    ~approved_by(me), ~issued_by_approval)
            .order_by(Jury.date.desc(), Jury.id.desc()))


def pending_count(user_id: int) -> int:
    return pending_query(user_id).count()


def announce(jury: Jury) -> int:
    """When the draft PV is issued: the voting members with an account are told it waits for
    their approval (the president is told too: he approves last)."""
    if not platform_approval(jury):
        return 0
    from app.workflow.notifications import notify
    seats = [m for m in voting_seats(jury) if m.user_id] + (
        [jury.president_membre] if jury.president_membre and jury.president_membre.user_id else [])
    return notify([m.user_id for m in seats], "jury",
                  f"Procès-verbal du jury du {jury.date:%d/%m/%Y} à approuver",
                  "Le procès-verbal est émis : relisez-le et approuvez-le depuis votre compte "
                  "(les membres votants d'abord, le président en dernier).",
                  f"/approbation-pv/{jury.id}")
