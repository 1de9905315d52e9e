"""VAE (R-CAN-8): the recevabilité examined by the secretariat within 2 months, then 18 months to
reach a jury; `flask candidatures vae-alerts` warns before and after each deadline, once each."""
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from app.errors import RuleViolation
from app.extensions import db
from app.formats import format_date_fr
from app.models.base import today
from app.models.candidature import Candidature
from app.models.statuts import AT_JURY, CLOSED_BEFORE_JURY
from app.security.perimeter import Perimetre
from app.workflow.dossier.candidats import parse_bool, parse_date
from app.workflow.engine import (
    SEC,
    check,
    dossier_link,
    holders,
    secretariat_of,
    set_status,
    workflow_of,
)
from app.workflow.mail import send_mail
from app.workflow.notifications import notify

# How long before a deadline the first alert goes.
AVANCE_RECEVABILITE = timedelta(days=15)
AVANCE_JURY = relativedelta(months=2)
# Statuses after which the 18-month deadline no longer matters: the dossier reached a jury.
JURY_ATTEINT = AT_JURY + CLOSED_BEFORE_JURY


def echeance_recevabilite(c: Candidature) -> date | None:
    if not c.vae or c.recevabilite_recue_le is None:
        return None
    return c.recevabilite_recue_le + timedelta(days=c.dispositif.delai_recevabilite_jours)


def echeance_jury(c: Candidature) -> date | None:
    if not c.vae or c.recevabilite_statut != "recevable" or c.recevabilite_decidee_le is None:
        return None
    return c.recevabilite_decidee_le + relativedelta(months=c.dispositif.delai_vae_jury_mois)


def decide_recevabilite(p: Perimetre, c: Candidature, recevable=None, motif=None,
                        decidee_le=None, **_):
    """R-CAN-8: recevable (the dossier opens) or refused with its reasons."""
    check(p, c, "decide_recevabilite")
    if recevable in (None, ""):
        raise RuleViolation("Indiquez la décision de recevabilité.", "R-CAN-8", field="recevable")
    ok = parse_bool(recevable)
    day = parse_date(decidee_le, "decidee_le") or today()
    if day > today():  # a decision is recorded once taken: its deadlines start from it
        raise RuleViolation("La date de décision ne peut pas être dans le futur.", "R-CAN-8",
                            field="decidee_le")
    if c.recevabilite_recue_le and day < c.recevabilite_recue_le:
        raise RuleViolation("La décision ne peut pas précéder la réception du dossier.", "R-CAN-8",
                            field="decidee_le")
    motif = (motif or "").strip() or None
    if not ok and not motif:
        raise RuleViolation("Un refus de recevabilité est motivé : indiquez ses raisons.",
                            "R-CAN-8", field="motif")
    c.recevabilite_statut = "recevable" if ok else "refusee"
    c.recevabilite_decidee_le, c.recevabilite_motif = day, motif
    target = workflow_of(c).initial if ok else "recevabilite_refusee"
    set_status(p, c, "decide_recevabilite", target, motif,
               libelle="Recevabilité VAE : " + ("recevable" if ok else "refusée"))
    contenu = (f"Le candidat a jusqu'au {format_date_fr(echeance_jury(c))} pour passer devant un jury."
               if ok else f"Motif : {motif}")
    notify(holders(c), "dossier_candidature",
           f"Dossier {c.numero} : recevabilité {'acceptée' if ok else 'refusée'}", contenu,
           dossier_link(c))


def _alerts_due(c: Candidature, day: date) -> list[tuple[str, str]]:
    out = []
    rec = echeance_recevabilite(c)
    if c.statut == "en_attente_recevabilite" and rec is not None:
        if day > rec:
            out.append(("recevabilite_depassee", (f"Le délai de réponse de recevabilité (2 mois) est "
                        f"dépassé depuis le {format_date_fr(rec)}.")))
        elif day >= rec - AVANCE_RECEVABILITE:
            out.append(("recevabilite_echeance", (f"La réponse de recevabilité est due au plus tard "
                        f"le {format_date_fr(rec)}.")))
    jury = echeance_jury(c)
    if jury is not None and c.statut not in JURY_ATTEINT:
        if day > jury:
            out.append(("jury_depasse", (f"Le délai pour passer devant un jury a expiré le "
                        f"{format_date_fr(jury)}.")))
        elif day >= jury - AVANCE_JURY:
            out.append(("jury_echeance", (f"Le candidat doit passer devant un jury avant le "
                        f"{format_date_fr(jury)}.")))
    return out


def send_vae_alerts(on: date | None = None) -> int:
    """Notify the secretariat and the holders of each VAE deadline reached, once per kind."""
    day = on or today()
    rows = (db.session.query(Candidature)
            .filter(Candidature.vae.is_(True), Candidature.statut.notin_(JURY_ATTEINT))
            .order_by(Candidature.id).all())
    count = 0
    for c in rows:
        sent = set(filter(None, (c.vae_alertes or "").split(",")))
        for kind, message in _alerts_due(c, day):
            if kind in sent:
                continue
            sent.add(kind)
            users = secretariat_of(c.dispositif_id) + [u for u in holders(c)]
            titre = f"VAE — dossier {c.numero} : échéance"
            notify(users, "dossier_candidature", titre, message, dossier_link(c))
            for user in secretariat_of(c.dispositif_id):
                send_mail(user.email, "candidature_vae_alerte", c=c, user=user, message=message,
                          lien=dossier_link(c))
            count += 1
        c.vae_alertes = ",".join(sorted(sent))
    db.session.commit()
    return count


__all__ = ["SEC", "decide_recevabilite", "echeance_jury", "echeance_recevabilite", "send_vae_alerts"]
