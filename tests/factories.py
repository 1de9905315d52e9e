"""Factories: make.etablissement(), make.user("admin_organisme", organisme=o)…, with valid SIRETs."""
import itertools

from werkzeug.security import generate_password_hash

_counter = itertools.count(1)


def luhn_complete(prefix: str) -> str:
    from app.seed_data.demo import luhn_complete as complete
    return complete(prefix)


class Factories:
    PASSWORD = "Test-Password-1!"

    def __init__(self, db, ref):
        self.db = db
        self.ref = ref

    def _n(self):
        return next(_counter)

    def siren(self):
        return luhn_complete(f"8{self._n():07d}")

    def siret(self, siren=None):
        return luhn_complete((siren or self.siren()) + f"{self._n() % 10000:04d}")

    def reseau(self, **kw):
        from app.models import Reseau
        row = Reseau(nom=kw.pop("nom", f"Réseau {self._n()}"), **kw)
        self.db.session.add(row)
        self.db.session.commit()
        return row

    def organisme(self, reseau=None, **kw):
        from app.models import Organisme
        row = Organisme(nom=kw.pop("nom", f"ORGANISME {self._n()}"), siren=kw.pop("siren", self.siren()),
                        reseau=reseau, **kw)
        self.db.session.add(row)
        self.db.session.commit()
        return row

    def etablissement(self, organisme=None, **kw):
        from app.models import Etablissement
        organisme = organisme or self.organisme()
        row = Etablissement(organisme=organisme, libelle=kw.pop("libelle", f"Site {self._n()}"),
                            siret=kw.pop("siret", self.siret(organisme.siren)),
                            region=kw.pop("region", "Île-de-France"), ville=kw.pop("ville", "Paris"), **kw)
        self.db.session.add(row)
        self.db.session.commit()
        return row

    def entreprise(self, **kw):
        from app.models import Entreprise
        row = Entreprise(raison_sociale=kw.pop("raison_sociale", f"ENTREPRISE {self._n()}"),
                         siret=kw.pop("siret", self.siret()), **kw)
        self.db.session.add(row)
        self.db.session.commit()
        return row

    def user(self, role, username=None, password=None, **perimetre):
        """A user with a known password; perimetre: dispositif=, reseau=, organisme=…"""
        from flask import current_app
        from flask_appbuilder.security.sqla.models import User

        from app.models import Profil
        from app.security.roles import role_name
        n = self._n()
        username = username or f"{role}{n}"
        user = User(username=username, first_name="Prénom", last_name=f"Nom{n}", active=True,
                    email=f"{username}@test.invalid",
                    password=generate_password_hash(password or self.PASSWORD))
        sm = current_app.appbuilder.sm
        user.roles = [sm.find_role("Admin" if role == "admin" else role_name(role))]
        self.db.session.add(user)
        if role != "admin":
            if role in ("secretariat", "manager", "evaluateur", "jury") and "dispositif" not in perimetre:
                perimetre["dispositif"] = self.ref["CHIMIE"]
            self.db.session.add(Profil(user=user, role=role, **perimetre))
        self.db.session.commit()
        return user
