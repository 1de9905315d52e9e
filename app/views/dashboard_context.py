"""What the home page shows; later features add their counts here."""
from flask_login import current_user

from app.security.perimeter import current_perimetre
from app.workflow.notifications import unread_count


def dashboard_context() -> dict:
    from app.views.dashboard import dashboard
    p = current_perimetre()
    profil = getattr(current_user, "profil", None)
    return {"perimetre": p, "profil": profil, "unread": unread_count(current_user.id),
            "tableau": dashboard(p)}  # R-STA-1
