"""Factories: make.etablissement(), make.user("admin_organisme", organisme=o)…, with valid SIRETs."""
import itertools

from werkzeug.security import generate_password_hash

_counter = itertools.count(1)
_HASHES: dict[str, str] = {}


def password_hash(password: str) -> str:
    """A cheap, cached hash: scrypt (werkzeug's default) costs ~0.2 s per user and per login."""
    if password not in _HASHES:
        _HASHES[password] = generate_password_hash(password, method="pbkdf2:sha256:1000")
    return _HASHES[password]


_PDFS: dict[str, bytes] = {}


def real_pdf(text: str = "document") -> bytes:
    """One blank page; `text` in its metadata makes each file distinct (duplicate checks)."""
    if text not in _PDFS:
        import io

        from pypdf import PdfWriter
        writer = PdfWriter()
        writer.add_blank_page(width=200, height=200)
        writer.add_metadata({"/Title": text})
        buf = io.BytesIO()
        writer.write(buf)
        _PDFS[text] = buf.getvalue()
    return _PDFS[text]


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
                    password=password_hash(password or self.PASSWORD))
        sm = current_app.appbuilder.sm
        user.roles = [sm.find_role("Admin" if role == "admin" else role_name(role))]
        self.db.session.add(user)
        if role != "admin":
            if role in ("secretariat", "manager", "evaluateur", "jury") and "dispositif" not in perimetre:
                perimetre["dispositif"] = self.ref["CHIMIE"]
            self.db.session.add(Profil(user=user, role=role, **perimetre))
        self.db.session.commit()
        return user

    # -- habilitations (issue 3) -------------------------------------------------------------
    def habilitation(self, etablissement, dispositif, etat="validee", debut=None, fin=None, **kw):
        """A habilitation row as the workflow leaves it (validated: today−1y … today+2y)."""
        import datetime as dt

        from app.models.habilitation import Habilitation
        today = dt.date.today()
        if etat == "validee":
            debut = debut or today - dt.timedelta(days=365)
            fin = fin or today + dt.timedelta(days=730)
        if etat == "rejetee":
            kw.setdefault("motif_rejet", "Dossier incomplet")
        row = Habilitation(etablissement=etablissement, dispositif=dispositif, etat=etat,
                           date_debut=debut, date_fin=fin, **kw)
        self.db.session.add(row)
        self.db.session.commit()
        return row

    def evaluateur(self, certification=None, region="Île-de-France", debut=None, fin=None, **kw):
        """An évaluateur habilité (account + register row), habilitated for `certification`."""
        import datetime as dt

        from app.models.habilitation import EvaluateurHabilite, HabilitationEvaluateur
        user = self.user("evaluateur")
        ev = EvaluateurHabilite(user=user, **kw)
        self.db.session.add(ev)
        if certification is not None:
            today = dt.date.today()
            self.db.session.add(HabilitationEvaluateur(
                evaluateur=ev, certification=certification, region=region,
                date_debut=debut or today - dt.timedelta(days=30),
                date_fin=fin or today + dt.timedelta(days=365)))
        self.db.session.commit()
        return ev

    # -- candidatures (issue 4) --------------------------------------------------------------
    def identite(self, **kw):
        """A valid identity (R-CAN-1); names made of letters only, unique per call."""
        import datetime as dt
        n = self._n()
        letters = "".join("ABCDEFGHIJ"[int(d)] for d in str(n))
        base = {"civilite": "MME", "nom_naissance": f"Martin{letters.lower()}", "prenom": "Claire",
                    "date_naissance": dt.date(1990, 1, 1) + dt.timedelta(days=n % 3000),
                    "ne_etranger": False, "ne_outre_mer": False, "ville_naissance": "Lyon",
                    "code_postal_naissance": "69003", "email": f"candidat{n}@test.invalid",
                    "adresse": "1 rue de la Paix", "code_postal": "75002", "ville": "Paris"}
        base.update(kw)
        return base

    def competences(self, certification, count=4, specifiques=(0,)):
        """Give `certification` competences if it has none (the chemical CQPs are seeded without)."""
        from app.models import Competence
        if not certification.competences:
            for i in range(count):
                certification.competences.append(Competence(
                    code=f"C{i + 1}", intitule=f"Compétence {i + 1} de {certification.code}",
                    ordre=i, specifique_branche=i in specifiques))
            self.db.session.commit()
        return certification.competences

    def certification(self, dispositif="CLEA", code=None):
        from app.models import Certification
        disp = self.ref[dispositif]
        q = self.db.session.query(Certification).filter_by(dispositif_id=disp.id)
        if code:
            return q.filter_by(code=code).one()
        default = {"CLEA": "CLEA-SOCLE", "CHIMIE": "CQP-CHIMIE-01"}.get(dispositif)
        cert = q.filter_by(code=default).one() if default else \
            q.filter(Certification.type == "CQPM").order_by(Certification.id).first()
        if dispositif == "CHIMIE":
            self.competences(cert)
        return cert

    def candidature(self, dispositif="CLEA", by=None, etablissement=None, entreprise=None,
                    certification=None, identite=None, **kw):
        """A dossier created through the workflow by a user the dispositif allows; the creator is
        on `c.createur`. CléA/metallurgy: an établissement habilitated for the dispositif;
        chimie: an employer whose company is in Île-de-France."""
        from app.models.habilitation import Habilitation
        from app.security.perimeter import perimetre_of
        from app.workflow.dossier.candidatures import create_candidature
        disp = self.ref[dispositif]
        certification = certification or self.certification(dispositif)
        if by is None:
            if dispositif == "CHIMIE":
                entreprise = entreprise or self.entreprise(region="Île-de-France")
                by = self.user("employeur", entreprise=entreprise)
            else:
                etablissement = etablissement or self.etablissement()
                by = self.user("utilisateur_etablissement", etablissement=etablissement)
        if etablissement is not None and not self.db.session.query(Habilitation.id).filter_by(
                etablissement_id=etablissement.id, dispositif_id=disp.id, etat="validee").first():
            self.habilitation(etablissement, disp)
        kw.setdefault("statut_inscription", "salarie")
        kw.setdefault("financement", "CPF")
        kw.setdefault("objectifs_professionnels", "Obtenir un emploi stable dans la logistique.")
        c = create_candidature(perimetre_of(by), certification=certification,
                               identite=identite or self.identite(), etablissement=etablissement,
                               entreprise=entreprise, **kw)
        self.db.session.commit()
        return c

    @staticmethod
    def pdf(text="document"):
        """A small, distinct, real PDF: uploads are parsed (R-CAN-4, issue 14)."""
        return real_pdf(text)

    def clea_evaluation(self, c, by, acquis=True, date_evaluation=None, finalise=True):
        """Start, fill (all acquis, or all but one) and finalise a CléA evaluation as `by`."""
        import datetime as dt

        from app.security.perimeter import perimetre_of
        from app.workflow import pieces as documents
        from app.workflow.evaluation import clea
        p = perimetre_of(by)
        ev = clea.start_evaluation(p, c, evaluateur_nom="Durand", evaluateur_prenom="Paul",
                                          evaluateur_email="paul.durand@test.invalid")
        rows = list(ev.resultats)
        results = {r.competence_id: {"acquis": True} for r in rows}
        if not acquis:
            results[rows[0].competence_id] = {"acquis": False, "commentaire": "À retravailler"}
        if finalise:
            documents.add_document(p, c, filename="matrice.pdf", data=self.pdf(f"matrice {ev.id}"),
                                   type_piece="matrice_evaluation", evaluation=ev)
            clea.finalize_evaluation(
                p, c, evaluation=ev, resultats=results,
                date_evaluation=date_evaluation or dt.date.today())
        else:
            clea.save_evaluation(p, c, evaluation=ev, resultats=results)
        self.db.session.commit()
        return ev

    # -- jurys (issue 5) ---------------------------------------------------------------------
    def jury(self, dispositif="CHIMIE", date=None, capacite=None, **kw):
        """A planned jury, created through the workflow (default: in 30 days, registrations open)."""
        import datetime as dt

        from app.security.perimeter import Perimetre
        from app.workflow.jury.sessions import create_jury
        row = create_jury(Perimetre(None, "admin", None, None), self.ref[dispositif],
                          date or dt.date.today() + dt.timedelta(days=30), capacite=capacite, **kw)
        self.db.session.commit()
        return row

    def jury_compose(self, jury, unions=("CFDT", "CGT")):
        """A composition that satisfies R-JUR-5: a president, two employers, one voting account
        per union (the union's e-mail gets the copies). Returns {role: member}."""
        from app.security.perimeter import Perimetre
        from app.workflow.jury.composition import add_member
        p = Perimetre(None, "admin", None, None)
        disp = jury.dispositif
        out = {"president": add_member(p, jury, "president", nom="Président", prenom="Paul",
                                       email="president@test.invalid", qualite="UIMM")}
        for i in range(2):
            out[f"employeur{i}"] = add_member(p, jury, "employeurs", nom=f"Patron{i}",
                                              email=f"patron{i}@test.invalid",
                                              organisation="Entreprise")
        for union in unions:
            member = self.user("jury", dispositif=disp)
            member.profil.organisation = union
            out[union] = add_member(p, jury, "salaries", user=member, syndicat=union,
                                    syndicat_email=f"{union.lower()}@syndicat.invalid")
        self.db.session.commit()
        return out

    def dossier_pret_jury(self, dispositif="CHIMIE", acquis=None, **kw):
        """A dossier one step before the jury, through the workflow: chimie (both evaluators done,
        outil n°4, dossier candidat), CléA (evaluation validated), metallurgy (commission
        results). `acquis`: how many competences are acquired (None: all)."""
        import datetime as dt

        from app.security import tokens
        from app.security.perimeter import perimetre_of as P
        from app.workflow import pieces as documents
        from app.workflow.dossier import candidatures
        from app.workflow.evaluation import chimie as chimie_wf
        from app.workflow.evaluation import commission as commission_wf
        from app.workflow.evaluation import common as evaluations
        if dispositif == "CLEA":
            c = self.candidature("CLEA", **kw)
            self.clea_evaluation(c, c.createur)
            return c
        c = self.candidature(dispositif, **kw)
        holder = P(c.createur)
        documents.add_document(holder, c, filename="dossier.pdf", type_piece="dossier_candidat",
                               data=self.pdf(f"dossier candidat {c.id}"))
        if dispositif == "CHIMIE":
            ev_user = self.evaluateur(c.certification, region=c.region).user
            candidatures.confirm_evaluator(holder, c, evaluateur=ev_user.id,
                                           date_evaluation=dt.date.today())
            inv = chimie_wf.invite_metier_evaluator(P(ev_user), c, nom="Bernard", prenom="Luc",
                                                      email="luc.bernard@test.invalid")
            self.db.session.commit()
            chimie_wf.record_metier_observations(
                tokens.make_token(chimie_wf.METIER_PURPOSE, inv.id, inv.nonce), {},
                commentaire="Bonne maîtrise du poste.")
            rows = [r for r in evaluations.latest(c).resultats if not r.pre_acquis]
            n = len(rows) if acquis is None else acquis
            documents.add_document(P(ev_user), c, filename="outil4.pdf", type_piece="guide_evaluation",
                                   data=self.pdf(f"outil4 {c.id}"))
            chimie_wf.record_results(P(ev_user), c, observations_candidat="Satisfait.",
                                       resultats={r.competence_id: {"acquis": i < n}
                                                  for i, r in enumerate(rows)}, finalise=True)
        else:  # metallurgy: the commission d'évaluation
            commission_wf.open_evaluation(holder, c, date_evaluation=dt.date.today())
            rows = list(evaluations.latest(c).resultats)
            n = len(rows) if acquis is None else acquis
            commission_wf.record_commission_results(
                holder, c, resultats={r.competence_id: {"acquis": i < n} for i, r in enumerate(rows)},
                avis_entreprise="favorable" if commission_wf.avis_entreprise_requis(c) else None,
                finalise=True)
        self.db.session.commit()
        return c
