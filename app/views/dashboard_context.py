"""What the home page shows; later features add their counts here."""
from flask_login import current_user

from app.security.perimeter import current_perimetre
from app.workflow.notifications import unread_count


def dashboard_context() -> dict:
    from app.views.dashboard import dashboard
    p = current_perimetre()
    profil = getattr(current_user, "profil", None)
    return {"perimetre": p, "profil": profil, "unread": unread_count(current_user.id),
            "tableau": dashboard(p),  # R-STA-1
            **_jurys_et_habilitations(p)}


def _jurys_et_habilitations(p) -> dict:
    """Issue 16 item 11: a jury member's home lists the juries they sit in that are not closed
    (to deliberate from the jury's day on); a role reading the habilitations but not the dossiers
    (network supervisor) sees the pending requests of its perimeter, counted by the same
    criterion as the list the count opens, and so does the secretariat that decides them. Two
    statements at most."""
    import sqlalchemy as sa
    from flask import url_for

    from app.extensions import db
    from app.models.base import today
    from app.models.habilitation import Habilitation
    from app.models.jury import InscriptionJury, Jury
    from app.security import perimeter, roles
    from app.views.dashboard import _filter_index, reads_dossiers
    out = {}
    if p.role == "jury":
        n = (sa.select(sa.func.count(InscriptionJury.id))
             .where(InscriptionJury.jury_id == Jury.id, InscriptionJury.active.is_(True))
             .scalar_subquery())
        out["mes_jurys"] = [
            {"jury": j, "dossiers": count, "url": url_for("JuryView.show", pk=j.id),
             "deliberation_url": url_for("JuryView.deliberation", pk=j.id)
             if j.date <= today() else None}
            for j, count in db.session.execute(
                sa.select(Jury, n).where(perimeter.criterion(Jury, p), Jury.etat != "clos")
                .order_by(Jury.date, Jury.id).limit(10))]
    # The requests wait for whoever decides them (the secretariat), and are the whole follow-up of
    # a role that reads habilitations but no dossier (the network supervisor).
    decides = roles.allowed(p.role, "Habilitations", "decide")
    follows = not reads_dossiers(p) and roles.allowed(p.role, "Habilitations", "read")
    if not p.unrestricted and (decides or follows):
        total = db.session.execute(
            sa.select(sa.func.count(Habilitation.id))
            .where(perimeter.criterion(Habilitation, p), Habilitation.etat == "en_attente")).scalar()
        out["habilitations_en_attente"] = {
            "total": total,
            "url": url_for("HabilitationView.list") + f"?_flt_{_filter_index('equal')}_etat=en_attente"}
    return out
