"""In-app notifications (R-NOT-1): one notify() for every feature."""
from collections.abc import Iterable

from app.extensions import db
from app.models.notification import RUBRIQUES, Notification


def notify(users: Iterable, rubrique: str, titre: str, contenu: str = "", lien: str | None = None):
    """Add a notification for each user (a User or a user id); returns how many were added."""
    if rubrique not in RUBRIQUES.codes:
        raise ValueError(f"Rubrique inconnue : {rubrique}")
    count = 0
    seen = set()
    for user in users:
        user_id = getattr(user, "id", user)
        if user_id is None or user_id in seen:
            continue
        seen.add(user_id)
        db.session.add(Notification(user_id=user_id, rubrique=rubrique, titre=titre[:200],
                                    contenu=contenu, lien=lien))
        count += 1
    return count


def unread_count(user_id: int) -> int:
    return db.session.query(Notification.id).filter(
        Notification.user_id == user_id, Notification.lu.is_(False)).count()


def mark_read(user_id: int, ids: Iterable[int] | None = None) -> int:
    """Mark the user's notifications (all, or those ids) as read; others' rows are never touched."""
    q = db.session.query(Notification).filter(Notification.user_id == user_id,
                                              Notification.lu.is_(False))
    if ids is not None:
        q = q.filter(Notification.id.in_(list(ids)))
    n = q.update({Notification.lu: True}, synchronize_session=False)
    db.session.commit()
    return n
