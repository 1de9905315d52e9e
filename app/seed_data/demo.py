"""Demo structures and one account per role (flask demo), clearly labelled as demo."""
from flask import current_app
from flask_appbuilder.security.sqla.models import User
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Dispositif, Entreprise, Etablissement, Organisme, Profil, Reseau
from app.security.roles import role_name

DEMO_PASSWORD = "Demo-OpenCertif-2026!"


def luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to `prefix` (to build valid demo SIREN/SIRET)."""
    for d in "0123456789":
        digits = prefix + d
        total = 0
        for i, ch in enumerate(reversed(digits)):
            n = int(ch) * (2 if i % 2 else 1)
            total += n - 9 if n > 9 else n
        if total % 10 == 0:
            return digits
    raise ValueError(prefix)


def _get_or_create(model, keys, **values):
    row = db.session.query(model).filter_by(**keys).one_or_none()
    if row is None:
        row = model(**keys, **values)
        db.session.add(row)
        db.session.flush()
    return row


def load_demo() -> list[tuple[str, str, str]]:
    """Create the demo data; returns (login, role label, perimeter) of each demo account."""
    disp = {d.code: d for d in db.session.query(Dispositif)}
    reseau = _get_or_create(Reseau, {"nom": "Réseau Démo Formation"}, national=True)
    autre_reseau = _get_or_create(Reseau, {"nom": "Réseau Démo Ouest"})
    org1 = _get_or_create(Organisme, {"siren": luhn_complete("90000001")}, nom="FORMAPRO DÉMO", reseau=reseau)
    org2 = _get_or_create(Organisme, {"siren": luhn_complete("90000002")}, nom="ATELIERS DÉMO", reseau=autre_reseau)
    etabs = []
    for org, libelle, ville, cp, region, n in [
        (org1, "Lyon", "Lyon", "69003", "Auvergne-Rhône-Alpes", 1),
        (org1, "Grenoble", "Grenoble", "38000", "Auvergne-Rhône-Alpes", 2),
        (org2, "Nantes", "Nantes", "44000", "Pays de la Loire", 3),
        (org2, "Rennes", "Rennes", "35000", "Bretagne", 4),
    ]:
        siret = luhn_complete(org.siren + f"000{n}")
        etabs.append(_get_or_create(Etablissement, {"siret": siret}, organisme=org, libelle=libelle,
                                    ville=ville, code_postal=cp, region=region,
                                    adresse=f"{n} rue de la Démonstration",
                                    contact_nom="Contact démo", contact_email=f"contact{n}@demo.invalid"))
    ent = _get_or_create(Entreprise, {"siret": luhn_complete("9100000100001")},
                         raison_sociale="CHIMIE DÉMO SA", naf="20.14Z", secteur="HM",
                         branche="Industries chimiques", ville="Lyon", code_postal="69007",
                         adresse="10 avenue de la Chimie", region="Auvergne-Rhône-Alpes")
    _get_or_create(Entreprise, {"siret": luhn_complete("9100000200001")},
                   raison_sociale="MÉTAUX DÉMO SAS", naf="25.62B", secteur="M",
                   branche="Métallurgie", ville="Nantes", code_postal="44000")

    accounts = [
        ("admin", "Admin", "Technique", "admin", {}),
        ("secretariat.chimie", "Sophie", "Secrétariat", "secretariat", {"dispositif": disp["CHIMIE"]}),
        ("secretariat.clea", "Claire", "Certifpro", "secretariat", {"dispositif": disp["CLEA"]}),
        ("secretariat.metallurgie", "Marc", "Uimm", "secretariat", {"dispositif": disp["METALLURGIE"]}),
        ("admin.reseau", "Rémi", "Réseau", "admin_reseau", {"reseau": reseau}),
        ("superviseur.reseau", "Sarah", "Superviseure", "superviseur_reseau", {"reseau": reseau}),
        ("admin.organisme", "Olivier", "Organisme", "admin_organisme", {"organisme": org1}),
        ("utilisateur.organisme", "Ursula", "Organisme", "utilisateur_organisme", {"organisme": org1}),
        ("admin.etablissement", "Anne", "Lyon", "admin_etablissement", {"etablissement": etabs[0]}),
        ("utilisateur.etablissement", "Emma", "Lyon", "utilisateur_etablissement", {"etablissement": etabs[0]}),
        ("utilisateur.nantes", "Nina", "Nantes", "utilisateur_etablissement", {"etablissement": etabs[2]}),
        ("employeur", "Eric", "Employeur", "employeur", {"entreprise": ent}),
        ("evaluateur", "Valérie", "Évaluatrice", "evaluateur", {"dispositif": disp["CHIMIE"]}),
        ("jury", "Jules", "Juré", "jury", {"dispositif": disp["CHIMIE"]}),
        ("manager", "Manon", "Observatoire", "manager", {"dispositif": disp["CHIMIE"]}),
    ]
    sm = current_app.appbuilder.sm
    result = []
    for login, prenom, nom, role, perimetre in accounts:
        user = db.session.query(User).filter_by(username=login).one_or_none()
        if user is None:
            user = User(username=login, first_name=prenom, last_name=nom, active=True,
                        email=f"{login}@demo.opencertif.invalid",
                        password=generate_password_hash(DEMO_PASSWORD))
            db.session.add(user)
        user.roles = [sm.find_role("Admin" if role == "admin" else role_name(role))]
        if role != "admin" and user.profil is None:
            db.session.add(Profil(user=user, role=role, **perimetre))
        db.session.flush()
        label = role_name(role)
        scope = next((str(v) for v in perimetre.values()), "toute la plateforme")
        result.append((login, label, scope))
    db.session.commit()
    return result
