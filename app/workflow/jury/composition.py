"""Composition of a jury (R-JUR-5) and its convocations (R-JUR-6): employers' delegation (≤ 5,
plus one from temporary work), one voting representative per union, a president with the casting
vote, guests without a vote — where the dispositif holds paritaire juries (Dispositif.jury_paritaire;
CléA juries need their president only); designation requests to the unions and convocations at
least 15 days before, with a copy to the mandating union; a convened jury whose date, place or
modality changes re-convenes its members.
"""
from datetime import UTC, timedelta
from datetime import date as date_type

import sqlalchemy as sa
from flask_appbuilder.security.sqla.models import User

from app.errors import RuleViolation
from app.extensions import db
from app.formats import format_date_fr
from app.models import Profil
from app.models.base import today, utcnow
from app.models.jury import COLLEGES, ETATS_OUVERTS, MODALITES, Jury, JuryMembre
from app.security.perimeter import Perimetre
from app.workflow.jury.sessions import ensure_organiser, jury_link, lock_jury, row_of
from app.workflow.mail import send_mail
from app.workflow.notifications import notify

MAX_EMPLOYEURS = 5  # R-JUR-5: at most five qualified members in the employers' delegation
# What a convocation tells and a change of which re-convenes the members (R-JUR-6).
CONVOCATION_FIELDS = {"date": "Date", "lieu": "Lieu", "modalite": "Modalité"}


class AlreadyDone(RuleViolation):
    """The action was already done (a second click, two clicks at once): nothing was sent or
    published again; screens show the message as information, not as an error."""


# --- composition (R-JUR-5) ---------------------------------------------------------------------
def _key(text) -> str:
    return " ".join((text or "").upper().split())


def check_composition(jury: Jury, expecting_designations: bool = False) -> list[str]:
    """What prevents convening or closing this jury (empty list: the composition is valid): a
    voting president always; the paritaire composition of R-JUR-5 where the dispositif holds
    paritaire juries. `expecting_designations`: unions asked to designate count as seated (the
    designation request checks the rest of the composition)."""
    problems = []
    seated = [m for m in jury.membres if m.designe]
    presidents = [m for m in seated if m.college == "president"]
    if len(presidents) != 1:
        problems.append("Le jury doit avoir un président, désigné par l'organisateur "
                        f"({len(presidents)} désigné(s)).")
    elif not presidents[0].votant:
        problems.append("Le président vote : sa voix est prépondérante en cas de partage.")
    for m in seated:
        if m.college == "invite" and m.votant:
            problems.append(f"{m.nom_complet} est invité : il ne prend pas part à la décision.")
    if jury.dispositif.jury_paritaire:
        problems[:0] = _paritaire_problems(jury, seated, expecting_designations)
    return problems


def _paritaire_problems(jury: Jury, seated: list, expecting_designations: bool) -> list[str]:
    problems = []
    employeurs = [m for m in seated if m.college == "employeurs"]
    interim = [m for m in seated if m.college == "interim"]
    if not employeurs:
        problems.append("La délégation patronale n'a aucun membre.")
    if len(employeurs) > MAX_EMPLOYEURS:
        problems.append(f"La délégation patronale compte au plus {MAX_EMPLOYEURS} membres "
                        f"({len(employeurs)} désignés).")
    if len(interim) > 1:
        problems.append("La délégation patronale ne comprend qu'un membre supplémentaire du "
                        f"travail temporaire ({len(interim)} désignés).")
    unions: dict[str, list] = {}
    for m in seated:
        if m.college == "salaries":
            unions.setdefault(_key(m.syndicat), []).append(m)
    awaited = {_key(m.syndicat) for m in jury.membres
               if m.college == "salaries" and not m.designe} if expecting_designations else set()
    if not unions and not awaited:
        problems.append("Aucun représentant des organisations syndicales de salariés n'est "
                        "désigné.")
    for members in unions.values():
        voters = [m for m in members if m.votant]
        if len(voters) != 1 and not (not voters and _key(members[0].syndicat) in awaited):
            problems.append(f"L'organisation syndicale {members[0].syndicat} doit avoir un seul "
                            f"représentant votant ({len(voters)} votants).")
    return problems


def ensure_composition(jury: Jury):
    problems = check_composition(jury)
    if problems:
        raise RuleViolation("Composition du jury non conforme : " + " ".join(problems), "R-JUR-5")


def _ensure_editable(jury: Jury):
    """The composition is completed until the jury closes: a jury held without its president
    recorded must still be able to get one, since closing (and the PV he signs) requires it."""
    if jury.etat == "clos":
        raise RuleViolation("Le jury est clos : sa composition ne change plus.", "R-JUR-5")


def add_member(p: Perimetre, jury: Jury, college: str, user=None, nom=None, prenom=None,
               email=None, organisation=None, qualite=None, syndicat=None, syndicat_email=None,
               votant=None) -> JuryMembre:
    """A member (a "Membre de jury" account or a person named here), or a union to designate one."""
    ensure_organiser(p, jury.dispositif_id)
    _ensure_editable(jury)
    if college not in COLLEGES.codes:
        raise RuleViolation("Choisissez le collège du membre.", "R-JUR-5", field="college")
    user = row_of(User, user)
    if user is not None:
        profil = user.profil
        if profil is None or profil.role != "jury" or profil.dispositif_id != jury.dispositif_id:
            raise RuleViolation("Ce compte n'est pas un compte « Membre de jury » du dispositif.",
                                "R-JUR-5", field="user")
        if any(m.user_id == user.id for m in jury.membres):
            raise RuleViolation("Ce membre fait déjà partie du jury.", "R-JUR-5", field="user")
    nom, prenom = (nom or "").strip() or None, (prenom or "").strip() or None
    syndicat = (syndicat or "").strip() or None
    if college == "salaries" and not syndicat:
        raise RuleViolation("Indiquez l'organisation syndicale qui mandate ce représentant.",
                            "R-JUR-5", field="syndicat")
    if user is None and not nom and not (college == "salaries" and syndicat):
        raise RuleViolation("Choisissez un compte ou indiquez le nom du membre.", "R-JUR-5",
                            field="nom")
    for key, value in (("email", email), ("syndicat_email", syndicat_email)):
        value = (value or "").strip()
        if value and ("@" not in value or "." not in value.split("@")[-1]):
            raise RuleViolation("Adresse e-mail invalide.", "R-JUR-6", field=key)
    pending = next((m for m in jury.membres if college == "salaries" and (user or nom)
                    and m.college == "salaries" and not m.designe
                    and _key(m.syndicat) == _key(syndicat)), None)
    if pending is not None:
        # The union designates its representative: the person takes the place that waited for
        # them (its vote and its designation request), not a second seat beside it (R-JUR-5).
        pending.user, pending.nom, pending.prenom = user, nom, prenom
        pending.email = (email or "").strip().lower() or pending.email
        pending.organisation = (organisation or "").strip() or (
            user.profil.organisation if user is not None else None) or pending.organisation
        pending.qualite = (qualite or "").strip() or pending.qualite
        pending.syndicat_email = (syndicat_email or "").strip().lower() or pending.syndicat_email
        if votant is not None:
            pending.votant = bool(votant)
        db.session.flush()
        return pending
    if college == "invite":
        votant = False
    elif votant is None:
        # One voter per union: the first representative designated votes (R-JUR-5).
        votant = not (college == "salaries" and any(
            m.votant and m.designe and _key(m.syndicat) == _key(syndicat) for m in jury.membres))
    m = JuryMembre(jury=jury, user=user, nom=nom, prenom=prenom,
                   email=(email or "").strip().lower() or None,
                   organisation=(organisation or "").strip() or (
                       user.profil.organisation if user is not None else None) or syndicat,
                   qualite=(qualite or "").strip() or None, college=college, syndicat=syndicat,
                   syndicat_email=(syndicat_email or "").strip().lower() or None,
                   votant=bool(votant))
    db.session.add(m)
    db.session.flush()
    return m


def remove_member(p: Perimetre, m: JuryMembre):
    ensure_organiser(p, m.jury.dispositif_id)
    _ensure_editable(m.jury)
    m.jury.membres.remove(m)
    db.session.delete(m)


def set_voter(p: Perimetre, m: JuryMembre):
    """Choose which representative of a union votes at this jury (the others attend)."""
    ensure_organiser(p, m.jury.dispositif_id)
    _ensure_editable(m.jury)
    if m.college != "salaries":
        raise RuleViolation("Seuls les représentants syndicaux alternent le droit de vote.",
                            "R-JUR-5")
    for other in m.jury.membres:
        if other.college == "salaries" and _key(other.syndicat) == _key(m.syndicat):
            other.votant = other.id == m.id


# --- designations and convocations (R-JUR-6) -----------------------------------------------------
def _latest_day(jury: Jury) -> date_type:
    return jury.date - timedelta(days=jury.dispositif.delai_convocation_jours)


def _union_accounts(jury: Jury, syndicat: str) -> list[User]:
    """"Membre de jury" accounts of the dispositif whose organisation is this union."""
    return [u for u in (db.session.query(User).join(Profil, Profil.user_id == User.id)
                        .filter(Profil.role == "jury", Profil.dispositif_id == jury.dispositif_id,
                                User.active.is_(True)).all())
            if _key(u.profil.organisation) == _key(syndicat)]


def request_designations(p: Perimetre, jury: Jury) -> int:
    """R-JUR-6: ask each union, at least 15 days before, to designate its representatives
    (mail to the union and notification to its accounts), once: refused while the rest of the
    composition is not conform; a second request (two clicks, two at once) asks only the unions
    added since and otherwise sends nothing. Returns the number of unions asked."""
    ensure_organiser(p, jury.dispositif_id)
    jury = lock_jury(jury.id)  # two requests at once: the second sees what the first did
    if jury.etat not in ETATS_OUVERTS:
        raise RuleViolation("Le jury est déjà tenu.", "R-JUR-6")
    if not jury.dispositif.jury_paritaire:
        raise RuleViolation("Les jurys de ce dispositif ne sont pas paritaires : il n'y a pas de "
                            "représentants syndicaux à faire désigner.", "R-JUR-6")
    latest = _latest_day(jury)
    if today() > latest:
        raise RuleViolation(f"Les organisations syndicales sont sollicitées au moins "
                            f"{jury.dispositif.delai_convocation_jours} jours avant le jury (au "
                            f"plus tard le {latest:%d/%m/%Y}).", "R-JUR-6")
    unions: dict[str, list[JuryMembre]] = {}
    for m in jury.membres:
        if m.college == "salaries":
            unions.setdefault(_key(m.syndicat), []).append(m)
    if not unions:
        raise RuleViolation("Ajoutez d'abord les organisations syndicales à solliciter "
                            "(composition, délégation syndicale).", "R-JUR-6")
    problems = check_composition(jury, expecting_designations=True)
    if problems:
        raise RuleViolation("Complétez d'abord la composition du jury avant de demander les "
                            "désignations : " + " ".join(problems), "R-JUR-5")
    todo = {k: members for k, members in unions.items()
            if all(m.designation_demandee_le is None for m in members)}
    if not todo:
        raise AlreadyDone("Les désignations ont déjà été demandées le "
                          f"{format_date_fr(_paris(jury.designations_demandees_le))} à toutes les "
                          "organisations syndicales du jury : rien n'a été renvoyé.", "R-JUR-6")
    now = utcnow()
    for members in todo.values():
        syndicat = members[0].syndicat
        addresses = {m.syndicat_email for m in members if m.syndicat_email}
        for address in sorted(addresses):
            send_mail(address, "jury_designation", jury=jury, syndicat=syndicat,
                      date_limite=latest, lien=jury_link(jury))
        accounts = _union_accounts(jury, syndicat) + [m.user for m in members if m.user]
        notify(accounts, "jury", f"Jury du {jury.date:%d/%m/%Y} : désignation demandée",
               f"{syndicat} est invitée à désigner ses représentants au jury du "
               f"{jury.date:%d/%m/%Y} ({jury.certificateur}).", jury_link(jury))
        for m in members:
            m.designation_demandee_le = now
    jury.designations_demandees_le = jury.designations_demandees_le or now
    return len(todo)


def convene(p: Perimetre, jury: Jury) -> int:
    """R-JUR-6: convene the members 15 days before, with a copy to the mandating union; refused
    while the composition breaks R-JUR-5. Members added later are convened by running it again.
    Returns the number of members convened now."""
    ensure_organiser(p, jury.dispositif_id)
    jury = lock_jury(jury.id)  # two clicks at once convene each member once
    if jury.etat not in ETATS_OUVERTS:
        raise RuleViolation("Le jury est déjà tenu.", "R-JUR-6")
    ensure_composition(jury)
    latest = _latest_day(jury)
    if today() > latest:
        raise RuleViolation(f"Les membres sont convoqués {jury.dispositif.delai_convocation_jours} "
                            f"jours avant le jury (au plus tard le {latest:%d/%m/%Y}).", "R-JUR-6")
    todo = [m for m in jury.membres if m.designe and m.convoque_le is None]
    without = [m.nom_complet for m in todo if not m.adresse]
    if without:
        raise RuleViolation("Indiquez l'adresse e-mail de : " + ", ".join(without) + ".",
                            "R-JUR-6")
    now = utcnow()
    for m in todo:
        cc = m.syndicat_email if m.college == "salaries" else None
        send_mail(m.adresse, "jury_convocation", cc=cc, jury=jury, membre=m, lien=jury_link(jury))
        if m.user_id:
            notify([m.user_id], "jury", f"Convocation au jury du {jury.date:%d/%m/%Y}",
                   f"{jury.intitule} — {jury.lieu or jury.modalite_label}.", jury_link(jury))
        m.convoque_le = now
    # Unions that designated nobody are invited organisations: they receive the convocation too.
    seated_unions = {_key(m.syndicat) for m in jury.membres if m.college == "salaries" and m.designe}
    for m in jury.membres:
        if m.college == "salaries" and not m.designe and m.convoque_le is None and \
                _key(m.syndicat) not in seated_unions and m.syndicat_email:
            send_mail(m.syndicat_email, "jury_convocation", jury=jury, membre=m,
                      lien=jury_link(jury))
            m.convoque_le = now
    if jury.etat == "planifie":
        jury.etat, jury.convoque_le = "convoque", now
    return len(todo)


# --- a convened jury that changes (R-JUR-6) -------------------------------------------------------
def _paris(moment):
    from zoneinfo import ZoneInfo
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo("Europe/Paris"))


def _shown(attr: str, value) -> str:
    if attr == "date":
        return format_date_fr(value)
    if attr == "modalite":
        return MODALITES.label(value) if value else "—"
    return value or "—"


def convocation_changes(jury: Jury) -> dict[str, str]:
    """What a convened member must be told of this (unsaved, unflushed) change of the jury:
    {attribute: French line}. Read before anything flushes the change (history is then gone)."""
    state = sa.inspect(jury)
    if state.transient or state.pending:
        return {}
    lines = {}
    for attr, label in CONVOCATION_FIELDS.items():
        history = getattr(state.attrs, attr).history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = getattr(jury, attr)
        if before != after:
            lines[attr] = f"{label} : {_shown(attr, after)} (au lieu de {_shown(attr, before)})"
    return lines


def reconvene_on_change(p: Perimetre, jury: Jury, changes: dict[str, str]) -> int:
    """R-JUR-6: a jury whose date, place or modality changes (`changes`, from
    convocation_changes) after its members were convened re-convenes them (and the invited
    unions) with what changed; a new date must still leave them the convocation delay. Every
    edit of a jury goes through it (the jury screen's check_rules, the only way a jury is changed:
    its REST routes are closed). Returns the number of convocations sent again."""
    if not changes:
        return 0
    ensure_organiser(p, jury.dispositif_id)
    convened = [m for m in jury.membres if m.convoque_le is not None]
    if not convened:
        return 0  # nobody convened yet: the convocation will give the new details
    if "date" in changes:
        delay = jury.dispositif.delai_convocation_jours
        earliest = today() + timedelta(days=delay)
        if jury.date < earliest:
            raise RuleViolation(f"Les membres sont déjà convoqués : la nouvelle date doit leur "
                                f"laisser {delay} jours (au plus tôt le "
                                f"{format_date_fr(earliest)}).", "R-JUR-6", field="date")
    lines = list(changes.values())
    now = utcnow()
    for m in convened:
        address = m.adresse if m.designe else m.syndicat_email
        if not address:
            continue
        cc = m.syndicat_email if m.college == "salaries" and m.designe else None
        send_mail(address, "jury_reconvocation", cc=cc, jury=jury, membre=m, changements=lines,
                  lien=jury_link(jury))
        if m.user_id:
            notify([m.user_id], "jury", f"Jury modifié : nouvelle convocation au jury du "
                                        f"{jury.date:%d/%m/%Y}", " ; ".join(lines),
                   jury_link(jury))
        m.convoque_le = now
    jury.convoque_le = now
    return len(convened)
