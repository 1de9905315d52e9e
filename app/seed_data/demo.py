"""Demo structures and one account per role (flask demo), clearly labelled as demo."""
from flask import current_app
from flask_appbuilder.security.sqla.models import User
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Dispositif, Entreprise, Etablissement, Organisme, Profil, Reseau
from app.security.roles import role_name

DEMO_PASSWORD = "Demo-OpenCertif-2026!"


def _ascii(name: str) -> str:
    """An e-mail's local part as people write it: « Inès » → « ines »."""
    import unicodedata
    return (unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
            .replace(" ", "-").replace("'", ""))


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


DEMO_SIGNATAIRES = {"CHIMIE": "Hélène Garnier", "CLEA": "Sophie Aubert",
                    "METALLURGIE": "Claire Morel"}


def load_demo() -> list[tuple[str, str, str]]:
    """Create the demo data; returns (login, role label, perimeter) of each demo account."""
    disp = {d.code: d for d in db.session.query(Dispositif)}
    # Issue 16: the demo certificates name the certifier's signatory beside the jury's president
    # (fictitious names, kept when a secretariat has set its own).
    for code, name in DEMO_SIGNATAIRES.items():
        if code in disp and not disp[code].signataire_certificats:
            disp[code].signataire_certificats = name
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
                                    contact_nom="Contact démo", contact_email=f"contact{n}@demo.example.org"))
    ent = _get_or_create(Entreprise, {"siret": luhn_complete("9100000100001")},
                         raison_sociale="CHIMIE DÉMO SA", naf="20.14Z", secteur="HM",
                         branche="Industries chimiques", ville="Lyon", code_postal="69007",
                         adresse="10 avenue de la Chimie", region="Auvergne-Rhône-Alpes")
    metaux = _get_or_create(Entreprise, {"siret": luhn_complete("9100000200001")},
                            raison_sociale="MÉTAUX DÉMO SAS", naf="25.62B", secteur="M",
                            branche="Métallurgie", ville="Nantes", code_postal="44000")
    # Each company's branch: its employers are offered that dispositif's certifications only.
    for company, code in ((ent, "CHIMIE"), (metaux, "METALLURGIE")):
        if not company.dispositifs:
            company.dispositifs = [disp[code]]

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
        # Presidents of today's CléA and metallurgy juries (_demo_juries_today_clea_metallurgie).
        ("jury.clea", "Julien", "Carré", "jury", {"dispositif": disp["CLEA"]}),
        ("jury.metallurgie", "Joëlle", "Brunet", "jury",
         {"dispositif": disp["METALLURGIE"]}),
    ]
    sm = current_app.appbuilder.sm
    result = []
    for login, prenom, nom, role, perimetre in accounts:
        user = db.session.query(User).filter_by(username=login).one_or_none()
        if user is None:
            user = User(username=login, first_name=prenom, last_name=nom, active=True,
                        email=f"{login}@demo.example.org",
                        password=generate_password_hash(DEMO_PASSWORD))
            db.session.add(user)
        user.roles = [sm.find_role("Admin" if role == "admin" else role_name(role))]
        if role != "admin" and user.profil is None:
            db.session.add(Profil(user=user, role=role, **perimetre))
        db.session.flush()
        label = role_name(role)
        scope = next((str(v) for v in perimetre.values()), "toute la plateforme")
        result.append((login, label, scope))
    db.session.flush()
    _demo_competences(disp)
    _demo_habilitations(disp, etabs)
    db.session.commit()
    _demo_dossiers_and_juries(disp, etabs)
    return result


DEMO_CANDIDATS = [
    ("MME", "Moreau", "Julie", "1988-04-12", "Lyon", "69003"),
    ("M", "Bernard", "Karim", "1979-11-03", "Villeurbanne", "69100"),
    ("MME", "Lefèvre", "Chloé", "1995-07-21", "Grenoble", "38000"),
]


def _demo_dossiers_and_juries(disp, etabs):
    """A few CléA dossiers at Lyon and the next juries of each certificateur (once)."""
    import datetime as dt

    from app.models import Certification
    from app.models.candidature import Candidature
    from app.models.jury import Jury
    from app.security.perimeter import Perimetre, perimetre_of
    from app.workflow.dossier.candidatures import create_candidature
    from app.workflow.jury.sessions import create_jury

    admin = Perimetre(None, "admin", None, None)
    today = dt.date.today()
    if not db.session.query(Jury.id).first():
        for code, days in (("CHIMIE", 45), ("CHIMIE", 120), ("CLEA", 30), ("CLEA", 75),
                           ("METALLURGIE", 60)):
            create_jury(admin, disp[code], today + dt.timedelta(days=days), lieu="Lyon")
        db.session.commit()
    if db.session.query(Candidature.id).first():
        return
    user = db.session.query(User).filter_by(username="utilisateur.etablissement").one()
    clea = db.session.query(Certification).filter_by(dispositif_id=disp["CLEA"].id).first()
    for civ, nom, prenom, naissance, ville, cp in DEMO_CANDIDATS:
        identite = {"civilite": civ, "nom_naissance": nom, "prenom": prenom,
                        "date_naissance": dt.date.fromisoformat(naissance), "ne_etranger": False,
                        "ne_outre_mer": False, "ville_naissance": ville, "code_postal_naissance": cp,
                        "email": f"{_ascii(prenom)}.{_ascii(nom)}@demo.example.org",
                        "adresse": "1 place Bellecour", "code_postal": "69002", "ville": "Lyon"}
        create_candidature(perimetre_of(user), certification=clea, identite=identite,
                           etablissement=etabs[0], statut_inscription="demandeur_emploi",
                           financement="CPF", origine="DE",
                           objectifs_professionnels="Accéder à un emploi de préparateur de commandes.")
    db.session.commit()
    _demo_stages(disp, etabs)


def _pdf(title: str) -> bytes:
    """A one-page PDF, distinct per title: uploads are checked by content (R-CAN-4)."""
    import io

    from pypdf import PdfWriter
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": title})
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def _identite(civ, nom, prenom, naissance, ville, cp):
    import datetime as dt
    return {"civilite": civ, "nom_naissance": nom, "prenom": prenom,
            "date_naissance": dt.date.fromisoformat(naissance), "ne_etranger": False,
            "ne_outre_mer": False, "ville_naissance": ville, "code_postal_naissance": cp,
            "email": f"{_ascii(prenom)}.{_ascii(nom)}@demo.example.org",
            "adresse": "2 rue de la Démo", "code_postal": "69007", "ville": "Lyon"}


def _demo_stages(disp, etabs):
    """Dossiers further on (issue 16 item 11): each demo account lands on work to do — chimie
    dossiers waiting for their evaluator and ready for the jury, a CléA evaluation validated,
    a Nantes dossier, a metallurgy dossier."""
    import datetime as dt

    from app.models import Certification
    from app.security import tokens
    from app.security.perimeter import perimetre_of
    from app.seed_data.referentiels import DEMO_CHIMIE_COMPETENCES
    from app.workflow import pieces as documents
    from app.workflow.dossier.candidatures import confirm_evaluator, create_candidature
    from app.workflow.evaluation import chimie as chimie_wf
    from app.workflow.evaluation import common as evaluations
    today = dt.date.today()
    users = {u.username: u for u in db.session.query(User).filter(User.username.in_(
        ["employeur", "evaluateur", "utilisateur.etablissement", "utilisateur.nantes"]))}
    employer, evaluator = perimetre_of(users["employeur"]), users["evaluateur"]
    cert = db.session.query(Certification).filter(
        Certification.dispositif_id == disp["CHIMIE"].id,
        Certification.code.in_(list(DEMO_CHIMIE_COMPETENCES))).order_by(Certification.code).first()
    ent = users["employeur"].profil.entreprise
    people = [("M", "Girard", "Thomas", "1990-02-14", "Lyon", "69008"),
              ("MME", "Petit", "Inès", "1985-09-30", "Vénissieux", "69200"),
              ("M", "Roux", "Mathieu", "1992-06-05", "Bron", "69500"),
              # registered to today's jury below: the « jury » account deliberates on them
              ("MME", "Faure", "Léa", "1987-01-19", "Lyon", "69009"),
              ("M", "Blanc", "Hugo", "1983-12-02", "Villeurbanne", "69100")]
    chimie = []
    for n, person in enumerate(people):
        c = create_candidature(employer, certification=cert, identite=_identite(*person),
                               entreprise=ent, statut_inscription="salarie", financement="CPF",
                               objectifs_professionnels="Devenir conducteur d'appareils.")
        chimie.append(c)
        if n == 0:
            continue  # stays « en cours d'inscription »: the employer chooses the evaluator
        documents.add_document(employer, c, filename="dossier-candidat.pdf",
                               type_piece="dossier_candidat", data=_pdf(f"dossier {c.numero}"))
        confirm_evaluator(employer, c, evaluateur=evaluator.id, date_evaluation=today)
        db.session.commit()
        if n == 1:
            continue  # waits for the évaluateur habilité
        ev_p = perimetre_of(evaluator)
        inv = chimie_wf.invite_metier_evaluator(ev_p, c, nom="Bernard", prenom="Luc",
                                                  email="luc.bernard@demo.example.org")
        db.session.commit()
        chimie_wf.record_metier_observations(
            tokens.make_token(chimie_wf.METIER_PURPOSE, inv.id, inv.nonce), {},
            commentaire="Bonne maîtrise du poste.")
        documents.add_document(ev_p, c, filename="outil4.pdf", type_piece="guide_evaluation",
                               data=_pdf(f"outil4 {c.numero}"))
        rows = [r for r in evaluations.latest(c).resultats if not r.pre_acquis]
        chimie_wf.record_results(ev_p, c, observations_candidat="Satisfait de l'évaluation.",
                                   resultats={r.competence_id: {"acquis": True} for r in rows},
                                   finalise=True)
        db.session.commit()  # ready for the jury
    _demo_jury_today(disp, employer, chimie[3:])

    # CléA: the first Lyon dossier's evaluation validated, to send to the certification.
    from app.models.candidature import Candidature
    lyon = perimetre_of(users["utilisateur.etablissement"])
    first = (db.session.query(Candidature).filter(Candidature.dispositif_id == disp["CLEA"].id)
             .order_by(Candidature.id).first())
    _clea_validee(lyon, first)
    # Nantes: a CléA dossier of its own.
    clea = db.session.query(Certification).filter_by(dispositif_id=disp["CLEA"].id).first()
    create_candidature(perimetre_of(users["utilisateur.nantes"]), certification=clea,
                       identite=_identite("MME", "Leroy", "Camille", "1991-03-08", "Nantes", "44000"),
                       etablissement=etabs[2], statut_inscription="demandeur_emploi",
                       financement="CPF", objectifs_professionnels="Reprendre un emploi.")
    db.session.commit()
    _demo_metallurgie(disp, etabs, perimetre_of(users["utilisateur.nantes"]))
    _demo_habilitation_request(disp, etabs)
    # Last, so that the dossiers above keep their numbers.
    _demo_juries_today_clea_metallurgie(disp, etabs, lyon, perimetre_of(users["utilisateur.nantes"]))


def _clea_validee(holder, c):
    """A CléA evaluation validated (every sub-domain acquired): « En attente d'envoi en
    certification »."""
    import datetime as dt

    from app.workflow import pieces as documents
    from app.workflow.evaluation import clea as clea_wf
    ev = clea_wf.start_evaluation(holder, c, evaluateur_nom="Durand", evaluateur_prenom="Paul",
                                  evaluateur_email="paul.durand@demo.example.org")
    documents.add_document(holder, c, filename="matrice.pdf", type_piece="matrice_evaluation",
                           data=_pdf(f"matrice {c.numero}"), evaluation=ev)
    clea_wf.finalize_evaluation(holder, c, evaluation=ev,
                                resultats={r.competence_id: {"acquis": True} for r in ev.resultats},
                                date_evaluation=dt.date.today())
    db.session.commit()


def _demo_metallurgie(disp, etabs, nantes):
    """Nantes prepares two CQPM: one before its commission d'évaluation, one whose commission
    has recorded its results (ready for the jury): secretariat.metallurgie's to-do."""
    cert = _cqpm_certification(disp)
    if cert is None:
        return
    people = [("M", "Lucas", "Yanis", "1994-05-17", "Nantes", "44100"),
              ("MME", "Perrin", "Sarah", "1989-10-23", "Saint-Herblain", "44800")]
    for n, person in enumerate(people):
        _cqpm(nantes, cert, etabs[2], person, evaluated=n > 0)


def _cqpm_certification(disp):
    """The first CQPM whose référentiel has competences (a commission can evaluate it)."""
    from app.models import Certification
    return (db.session.query(Certification)
            .filter(Certification.dispositif_id == disp["METALLURGIE"].id,
                    Certification.type == "CQPM", Certification.competences.any())
            .order_by(Certification.id).first())


def _cqpm(nantes, cert, etab, person, evaluated):
    """A CQPM dossier at Nantes; `evaluated`: its commission has recorded every competence
    acquired (ready to be presented to the jury)."""
    import datetime as dt

    from app.workflow.dossier.candidatures import create_candidature
    from app.workflow.evaluation import commission as commission_wf
    from app.workflow.evaluation import common as evaluations
    identite = {**_identite(*person), "code_postal": "44000", "ville": "Nantes"}
    c = create_candidature(nantes, certification=cert, identite=identite, etablissement=etab,
                           statut_inscription="salarie", financement="PDC",
                           objectifs_professionnels="Valider ses compétences d'opérateur régleur.")
    db.session.commit()
    if not evaluated:
        return c
    commission_wf.open_evaluation(nantes, c, date_evaluation=dt.date.today())
    rows = list(evaluations.latest(c).resultats)
    commission_wf.record_commission_results(
        nantes, c, resultats={r.competence_id: {"acquis": True} for r in rows},
        avis_entreprise="favorable" if commission_wf.avis_entreprise_requis(c) else None,
        finalise=True)
    db.session.commit()
    return c


def _demo_habilitation_request(disp, etabs):
    """Grenoble asks to be habilitated for the metallurgy: the network's supervisor follows the
    request, the metallurgy's secretariat decides on it."""
    from app.security.perimeter import perimetre_of
    from app.workflow.habilitations import demander_habilitation
    admin_reseau = db.session.query(User).filter_by(username="admin.reseau").one()
    demander_habilitation(perimetre_of(admin_reseau), etabs[1], [disp["METALLURGIE"]],
                          commentaire="Ouverture d'une section métallurgie à la rentrée.")
    db.session.commit()


def _demo_jury_today(disp, employer, dossiers):
    """Today's chemical jury, composed as R-JUR-5 asks, the « jury » account holding the CFDT's
    vote, with two dossiers registered by their employer: the jury member lands on a jury to
    deliberate (issue 16 item 11)."""
    import datetime as dt

    from app.models.jury import Jury
    from app.security.perimeter import Perimetre
    from app.workflow.jury.composition import add_member
    from app.workflow.jury.registration import register_to_jury
    from app.workflow.jury.sessions import create_jury
    admin = Perimetre(None, "admin", None, None)
    today = dt.date.today()
    if db.session.query(Jury.id).filter_by(dispositif_id=disp["CHIMIE"].id, date=today).first():
        return
    jury = create_jury(admin, disp["CHIMIE"], today, lieu="Lyon",
                       date_limite_inscription=today, libelle="Jury de démonstration du jour")
    add_member(admin, jury, "president", nom="Lambert", prenom="Hélène", qualite="Présidente",
               email="helene.lambert@demo.example.org")
    for nom, prenom in (("Garnier", "Paul"), ("Chevalier", "Nadia")):
        add_member(admin, jury, "employeurs", nom=nom, prenom=prenom, organisation="CHIMIE DÉMO SA",
                   email=f"{_ascii(prenom)}.{_ascii(nom)}@demo.example.org")
    juror = db.session.query(User).filter_by(username="jury").one()
    juror.profil.organisation = "CFDT"
    add_member(admin, jury, "salaries", user=juror.id, syndicat="CFDT",
               syndicat_email="cfdt@demo.example.org")
    add_member(admin, jury, "salaries", nom="Masson", prenom="Anne", syndicat="CGT",
               syndicat_email="cgt@demo.example.org", email="anne.masson@demo.example.org")
    db.session.commit()
    for c in dossiers:
        register_to_jury(employer, c, jury=jury)
    db.session.commit()


def _demo_juries_today_clea_metallurgie(disp, etabs, lyon, nantes):
    """Today's CléA jury (its president: the « jury.clea » account) with two Lyon dossiers sent
    to certification, and today's paritaire metallurgy jury, convened (its president: the
    « jury.metallurgie » account) with two Nantes CQPM presented: the README's CléA and CQPM
    journeys are played from the deliberation on (complement, decision, closing, documents)."""
    import datetime as dt

    from app.models import Certification
    from app.models.base import utcnow
    from app.security.perimeter import Perimetre
    from app.workflow.dossier.candidatures import create_candidature
    from app.workflow.jury.composition import add_member, ensure_composition
    from app.workflow.jury.registration import register_to_jury
    from app.workflow.jury.sessions import create_jury
    admin = Perimetre(None, "admin", None, None)
    today = dt.date.today()
    accounts = {u.username: u for u in db.session.query(User).filter(
        User.username.in_(["jury.clea", "jury.metallurgie"]))}

    clea = db.session.query(Certification).filter_by(dispositif_id=disp["CLEA"].id).first()
    jury = create_jury(admin, disp["CLEA"], today, lieu="Lyon", date_limite_inscription=today,
                       libelle="Jury CléA de démonstration du jour")
    add_member(admin, jury, "president", user=accounts["jury.clea"].id, qualite="Président")
    db.session.commit()
    for person in (("MME", "Fontaine", "Aurélie", "1990-08-11", "Lyon", "69004"),
                   ("M", "Garcia", "Antoine", "1986-03-27", "Vaulx-en-Velin", "69120")):
        c = create_candidature(lyon, certification=clea, identite=_identite(*person),
                               etablissement=etabs[0], statut_inscription="demandeur_emploi",
                               financement="CPF", objectifs_professionnels="Reprendre un emploi.")
        db.session.commit()
        _clea_validee(lyon, c)
        register_to_jury(lyon, c, jury=jury)  # « Envoyer en certification »
        db.session.commit()

    cert = _cqpm_certification(disp)
    if cert is None:
        return
    jury = create_jury(admin, disp["METALLURGIE"], today, lieu="Nantes",
                       date_limite_inscription=today,
                       libelle="Jury paritaire de démonstration du jour")
    president = accounts["jury.metallurgie"]
    president.profil.organisation = "UIMM Loire-Atlantique"
    add_member(admin, jury, "president", user=president.id, qualite="Présidente")
    for nom, prenom in (("Guerin", "Marc"), ("Robin", "Élodie")):
        add_member(admin, jury, "employeurs", nom=nom, prenom=prenom, organisation="MÉTAUX DÉMO SAS",
                   email=f"{_ascii(prenom)}.{_ascii(nom)}@demo.example.org")
    for nom, prenom, union in (("Lemoine", "Pierre", "CFDT"), ("Fabre", "Sonia", "FO")):
        add_member(admin, jury, "salaries", nom=nom, prenom=prenom, syndicat=union,
                   syndicat_email=f"{union.lower()}@demo.example.org",
                   email=f"{_ascii(prenom)}.{_ascii(nom)}@demo.example.org")
    ensure_composition(jury)
    # R-JUR-6 convenes 15 days before: a jury of today cannot be convened through the workflow,
    # so the demo records the convocation as done (no e-mail sent).
    now = utcnow()
    for m in jury.membres:
        m.convoque_le = now
    jury.etat, jury.convoque_le = "convoque", now
    db.session.commit()
    for person in (("M", "Mercier", "Julien", "1991-04-09", "Rezé", "44400"),
                   ("MME", "Bonnet", "Laura", "1993-11-15", "Nantes", "44300")):
        c = _cqpm(nantes, cert, etabs[2], person, evaluated=True)
        register_to_jury(nantes, c, jury=jury)  # « Présenter au jury »
        db.session.commit()


def _demo_competences(disp):
    """The demo CQPs get the competences a user needs to walk the chemical journey (evaluation,
    CQPI holder, jury); a référentiel the secretariat has already filled is left as it is."""
    from app.models import Certification, Competence
    from app.seed_data.referentiels import DEMO_CHIMIE_COMPETENCES
    for code, competences in DEMO_CHIMIE_COMPETENCES.items():
        cert = db.session.query(Certification).filter_by(dispositif_id=disp["CHIMIE"].id,
                                                         code=code).one_or_none()
        if cert is None or cert.competences:
            continue
        for ordre, comp in enumerate(competences, start=1):
            cert.competences.append(Competence(ordre=ordre, **comp))
    db.session.flush()


def _demo_habilitations(disp, etabs):
    """The Lyon and Nantes sites are habilitated (CléA, chimie); the évaluateur for two CQP."""
    import datetime as dt

    from app.models import Certification
    from app.models.habilitation import EvaluateurHabilite, Habilitation, HabilitationEvaluateur
    today = dt.date.today()
    for etab, codes in ((etabs[0], ("CLEA", "CHIMIE")), (etabs[2], ("CLEA", "CHIMIE", "METALLURGIE"))):
        for code in codes:
            _get_or_create(Habilitation, {"etablissement_id": etab.id, "dispositif_id": disp[code].id},
                           etat="validee", date_debut=today - dt.timedelta(days=200),
                           date_fin=today + dt.timedelta(days=900))
    user = db.session.query(User).filter_by(username="evaluateur").one()
    ev = _get_or_create(EvaluateurHabilite, {"user_id": user.id},
                        employeur_nom="Cabinet d'évaluation indépendant (démo)", ville="Lyon")
    from app.seed_data.referentiels import DEMO_CHIMIE_COMPETENCES
    # The CQPs whose demo référentiel has competences: the journey can be walked on them.
    certifs = db.session.query(Certification).filter(
        Certification.dispositif_id == disp["CHIMIE"].id,
        Certification.code.in_(list(DEMO_CHIMIE_COMPETENCES))).order_by(Certification.code).all()
    for cert in certifs:
        _get_or_create(HabilitationEvaluateur, {"evaluateur_id": ev.id, "certification_id": cert.id,
                                                "region": "Auvergne-Rhône-Alpes"},
                       date_debut=today - dt.timedelta(days=30), date_fin=today + dt.timedelta(days=700))
