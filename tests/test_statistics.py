"""Dashboard (R-STA-1), statistics page and downloads (R-STA-2), branch statistics (R-STA-3) and the
réseau's notification of new candidatures (R-NOT-2).

Every figure is checked against a count made here, in Python, over the dossiers the test created.
The world: réseau R1 ⊃ organisme A ⊃ A1 (Île-de-France), A2 (Bretagne); réseau R2 ⊃ organisme B ⊃
B1 (Occitanie); company E (Grand Est) holds chemical dossiers without établissement.
"""
import csv
import datetime as dt
import hashlib
import io
import random
import re

import openpyxl
import pytest

from app.models import Certification
from app.models.candidature import Candidat, Candidature
from app.models.evaluation import Evaluation
from app.reports import counts as report_counts
from app.reports import statistics as stats
from app.security.perimeter import perimetre_of

TODAY = dt.date.today()
SUCCESS = ("valide", "certifiee", "admis")
FLOWS = {  # statuses reachable per dispositif, with the decisions of its jury
    "CLEA": ["en_attente_evaluation_prealable", "en_attente_evaluation_finale",
             "en_attente_envoi_certification", "en_attente_jury", "en_attente_complement",
             "candidature_completee", "certifiee", "non_certifiee", "abandonnee"],
    "CHIMIE": ["en_cours_inscription", "en_attente_evaluation", "en_attente_jury", "valide",
               "partiel", "non_valide", "abandonnee", "recevabilite_refusee"],
    "METALLURGIE": ["inscription", "evaluation", "en_attente_jury", "admis", "non_admis",
                    "abandonnee"],
}
DECIDED = {"certifiee", "non_certifiee", "valide", "partiel", "non_valide", "admis", "non_admis"}
EVALUATED = DECIDED | {"en_attente_evaluation_finale", "en_attente_envoi_certification",
                       "en_attente_jury", "en_attente_complement", "candidature_completee"}
SENT = DECIDED | {"en_attente_jury", "en_attente_complement", "candidature_completee"}


class World:
    pass


@pytest.fixture(autouse=True)
def _fast_password_hash(monkeypatch):
    import functools

    import tests.factories
    monkeypatch.setattr(tests.factories, "generate_password_hash",
                        functools.lru_cache(maxsize=4)(tests.factories.generate_password_hash))


class DossierMaker:
    """Dossiers written straight to the tables, with chosen dates (the workflow stamps 'now')."""

    def __init__(self, db, ref):
        self.db, self.ref, self.n = db, ref, 0
        self.rows = []   # what the tests recount: one dict per dossier
        self.pending = []  # certificates, written once the dossiers have their ids

    def __call__(self, disp, statut, created, etab=None, entreprise=None, cert=None,
                 eval_after=None, sent_after=None, jury_after=None, certificate_after=None,
                 jury_row=True):
        db, d = self.db, self.ref[disp]
        self.n += 1
        cert = cert or self.db.session.query(Certification).filter_by(dispositif_id=d.id) \
            .order_by(Certification.id).first()
        person = Candidat(civilite="M", nom_naissance=f"Nom{self.n}", prenom="Jean",
                          date_naissance=dt.date(1980, 1, 1) + dt.timedelta(days=self.n))
        created_at = dt.datetime.combine(created, dt.time(9 + self.n % 8, 30))
        c = Candidature(numero=f"T-{self.n:05d}", candidat=person, dispositif_id=d.id,
                        certification_id=cert.id, statut=statut, created_on=created_at,
                        updated_on=created_at + dt.timedelta(hours=self.n % 50),
                        createur_type="etablissement")
        if etab is not None:
            c.etablissement_id, c.organisme_id = etab.id, etab.organisme_id
            c.reseau_id = etab.organisme.reseau_id
        if entreprise is not None:
            c.entreprise_id = entreprise.id
        if statut == "abandonnee":
            c.abandon_motif = "candidat"
            c.abandonne_le = created_at + dt.timedelta(days=20)
        row = {"c": c, "disp": disp, "cert": cert.id, "etab": etab.id if etab else None,
                   "organisme": etab.organisme_id if etab else None,
                   "reseau": etab.organisme.reseau_id if etab else None,
                   "region": (etab.region if etab else entreprise.region if entreprise else None),
                   "created": created, "statut": statut, "decision": None, "eval": None, "jury": None, "cert_date": None}
        db.session.add(c)
        if statut in EVALUATED and eval_after is not None:
            first = created + dt.timedelta(days=eval_after)
            db.session.add(Evaluation(candidature=c, type="prealable", statut="finalisee",
                                      resultat="valide", date_evaluation=first,
                                      finalisee_le=dt.datetime.combine(first, dt.time(18))))
            # a later evaluation and one still being entered do not move the first date
            db.session.add(Evaluation(candidature=c, type="finale", statut="finalisee",
                                      resultat="valide", date_evaluation=first + dt.timedelta(days=9),
                                      finalisee_le=dt.datetime.combine(first, dt.time(19))))
            db.session.add(Evaluation(candidature=c, type="finale", statut="en_cours",
                                      date_evaluation=created - dt.timedelta(days=3)))
            row["eval"] = first
        if statut in SENT and sent_after is not None:
            base = row["eval"] or created
            c.envoye_le = dt.datetime.combine(base + dt.timedelta(days=sent_after), dt.time(11))
            row["jury"] = c.envoye_le.date()
        if statut in DECIDED:
            jury_day = (c.envoye_le.date() if c.envoye_le else created) + \
                dt.timedelta(days=jury_after or 0)
            c.decision, c.decide_le = statut, jury_day
            row["decision"] = statut
            if jury_row:
                self._jury(c, d, jury_day, statut)
                row["jury"] = jury_day
            if statut in SUCCESS:
                row["cert_date"] = jury_day
                if certificate_after is not None:
                    issued = jury_day + dt.timedelta(days=certificate_after)
                    self.pending.append((c, d, issued, False))
                    self.pending.append((c, d, issued + dt.timedelta(days=40), True))
                    row["cert_date"] = issued
        self.rows.append(row)
        return c

    def _jury(self, c, d, day, decision):
        from app.models.jury import InscriptionJury, Jury
        jury = Jury(dispositif_id=d.id, certificateur=d.certificateur, date=day, capacite=30,
                    date_limite_inscription=day - dt.timedelta(days=21), etat="clos",
                    clos_le=dt.datetime.combine(day, dt.time(17)))
        self.db.session.add(InscriptionJury(
            jury=jury, candidature=c, numero_anonyme=1, rang=1, etat="publie",
            active=False, decision=decision, decide_le=dt.datetime.combine(day, dt.time(16)),
            publiee_le=dt.datetime.combine(day, dt.time(17))))

    def commit(self):
        self.db.session.flush()
        for args in self.pending:
            self._certificate(*args)
        self.pending = []
        self.db.session.commit()

    def _certificate(self, c, d, day, duplicata):
        from app.models.document import DocumentEmis
        pdf = f"%PDF certificat {c.numero} {duplicata}".encode()
        self.db.session.add(DocumentEmis(
            dispositif_id=d.id, type="certificat", modele="certificat", numero=f"C{c.id}{duplicata:d}",
            donnees={}, pdf=pdf, taille=len(pdf), sha256=hashlib.sha256(pdf).hexdigest(),
            code_verification=f"V{c.id:06d}{duplicata:d}", duplicata=duplicata,
            emis_le=dt.datetime.combine(day, dt.time(10)), candidature_id=c.id,
            intitule="Certificat"))


def build_world(db, make, ref, seed=7, count=90):
    """~90 dossiers over three dispositifs, two networks, four regions and eighteen months."""
    w = World()
    w.ref = ref
    w.r1 = make.reseau(nom="Réseau Un")
    w.r2 = make.reseau(nom="Réseau Deux")
    w.A = make.organisme(reseau=w.r1, nom="ORGA")
    w.A1 = make.etablissement(organisme=w.A, libelle="Paris", region="Île-de-France")
    w.A2 = make.etablissement(organisme=w.A, libelle="Rennes", region="Bretagne")
    w.B = make.organisme(reseau=w.r2, nom="ORGB")
    w.B1 = make.etablissement(organisme=w.B, libelle="Toulouse", region="Occitanie")
    w.E = make.entreprise(region="Grand Est")
    chimie_certs = db.session.query(Certification).filter_by(dispositif_id=ref["CHIMIE"].id) \
        .order_by(Certification.id).limit(2).all()
    w.dossier = DossierMaker(db, ref)
    rnd = random.Random(seed)
    start = TODAY - dt.timedelta(days=540)
    for i in range(count):
        disp = ["CLEA", "CHIMIE", "METALLURGIE"][i % 3]
        statut = rnd.choice(FLOWS[disp])
        holder = rnd.choice([w.A1, w.A2, w.B1])
        kw = {"etab": holder}
        if disp == "CHIMIE":
            kw = {"entreprise": w.E} if i % 2 else {"etab": holder, "entreprise": w.E}
            kw["cert"] = chimie_certs[i % 2]
        w.dossier(disp, statut, start + dt.timedelta(days=rnd.randrange(0, 500)),
                  eval_after=rnd.choice([None, 3, 10, 25, 40, 41]) if i % 7 else None,
                  sent_after=rnd.randrange(1, 60), jury_after=rnd.randrange(5, 90),
                  certificate_after=rnd.choice([None, 2, 15]), jury_row=bool(i % 5), **kw)
    w.dossier.commit()
    w.rows = w.dossier.rows
    return w


@pytest.fixture
def w(db, make, ref):
    return build_world(db, make, ref)


# --- independent counts ------------------------------------------------------------------------------
def category(statut):
    for code, _, statuses in stats.CATEGORIES:
        if statuses and statut in statuses:
            return code
    return "en_cours"


def expected_summary(rows):
    counts = {code: 0 for code, _, _ in stats.CATEGORIES}
    for r in rows:
        counts[category(r["statut"])] += 1
    return counts


def mine(rows, **where):
    return [r for r in rows if all(r[k] == v for k, v in where.items())]


# --- R-STA-2: figures ------------------------------------------------------------------------------
def test_summary_matches_an_independent_count(w, make):  # R-STA-2
    admin = make.user("admin")
    s = stats.summary(perimetre_of(admin))
    assert s.total == len(w.rows) == 90
    assert s.counts == expected_summary(w.rows)
    assert all(n > 0 for n in s.counts.values())  # the world exercises every category
    assert sum(s.counts.values()) == s.total
    per_status = {code: n for code, _, n in stats.by_status(perimetre_of(admin))}
    for statut in {r["statut"] for r in w.rows}:
        assert per_status[statut] == len(mine(w.rows, statut=statut))


def test_statistics_follow_the_perimeter(w, make):  # R-STA-2, R-ACC-5
    """An organisme administrator counts only its dossiers; a réseau its network's; the
    certifier its dispositif's; a manager its branch's (R-STA-3)."""
    cases = [
        (make.user("admin_organisme", organisme=w.A), mine(w.rows, organisme=w.A.id)),
        (make.user("admin_organisme", organisme=w.B), mine(w.rows, organisme=w.B.id)),
        (make.user("admin_reseau", reseau=w.r1), mine(w.rows, reseau=w.r1.id)),
        (make.user("secretariat", dispositif=w.ref["CLEA"]), mine(w.rows, disp="CLEA")),
        (make.user("manager", dispositif=w.ref["CHIMIE"]), mine(w.rows, disp="CHIMIE")),
    ]
    for user, rows in cases:
        s = stats.summary(perimetre_of(user))
        assert 0 < s.total == len(rows) < len(w.rows), user.username
        assert s.counts == expected_summary(rows), user.username


def test_filters_narrow_the_figures(w, make):  # R-STA-2, R-STA-3
    p = perimetre_of(make.user("admin"))
    chimie2 = sorted({r["cert"] for r in w.rows if r["disp"] == "CHIMIE"})[1]
    since, until = TODAY - dt.timedelta(days=300), TODAY - dt.timedelta(days=100)
    cases = [
        (stats.Filters(dispositif=w.ref["METALLURGIE"].id), lambda r: r["disp"] == "METALLURGIE"),
        (stats.Filters(certification=chimie2), lambda r: r["cert"] == chimie2),
        (stats.Filters(region="Grand Est"), lambda r: r["region"] == "Grand Est"),
        (stats.Filters(region="Bretagne"), lambda r: r["region"] == "Bretagne"),
        (stats.Filters(etablissement=w.B1.id), lambda r: r["etab"] == w.B1.id),
        (stats.Filters(debut=since, fin=until), lambda r: since <= r["created"] <= until),
        (stats.Filters(statut=["abandonnee", "en_attente_jury"]),
         lambda r: r["statut"] in ("abandonnee", "en_attente_jury")),
        (stats.Filters(dispositif=w.ref["CLEA"].id, region="Occitanie", statut=["certifiee"]),
         lambda r: r["disp"] == "CLEA" and r["region"] == "Occitanie" and r["statut"] == "certifiee"),
    ]
    for filters, keep in cases:
        rows = [r for r in w.rows if keep(r)]
        s = stats.summary(p, filters)
        assert s.total == len(rows), filters
        assert s.counts == expected_summary(rows), filters


def test_filters_parse_query_arguments_safely():  # R-STA-2
    from werkzeug.datastructures import MultiDict
    f = stats.Filters.from_args(MultiDict([("dispositif", "3"), ("certification", "x"),
                                           ("debut", "2025-01-31"), ("fin", "31/01/2025"),
                                           ("statut", "certifiee"), ("statut", "inconnu"),
                                           ("region", " Bretagne ")]))
    assert (f.dispositif, f.certification, f.debut, f.fin) == (3, None, dt.date(2025, 1, 31), None)
    assert f.statut == ["certifiee"] and f.region == "Bretagne"
    assert stats.Filters.from_args(MultiDict(f.as_args())) == f


# --- R-STA-2: the page and its downloads -----------------------------------------------------------
ALLOWED = ["admin_organisme", "admin_reseau", "secretariat", "manager"]
REFUSED = ["utilisateur_organisme", "admin_etablissement", "utilisateur_etablissement",
           "superviseur_reseau", "employeur", "evaluateur", "jury"]


def _user(make, w, role):
    perim = {"admin_organisme": {"organisme": w.A}, "utilisateur_organisme": {"organisme": w.A},
             "admin_reseau": {"reseau": w.r1}, "superviseur_reseau": {"reseau": w.r1},
             "admin_etablissement": {"etablissement": w.A1},
             "utilisateur_etablissement": {"etablissement": w.A1},
             "employeur": {"entreprise": w.E},
             "secretariat": {"dispositif": w.ref["CLEA"]}, "manager": {"dispositif": w.ref["CLEA"]}}
    return make.user(role, **perim.get(role, {}))


def test_statistics_only_for_administrators_and_certifier(w, make, login_as):  # R-STA-2
    for role in ALLOWED:
        c = login_as(_user(make, w, role))
        assert c.get("/statistiques/").status_code == 200, role
        assert c.get("/statistiques/export/").status_code == 200, role
        assert 'href="/statistiques/' in c.get("/").get_data(as_text=True), role  # menu + card
    for role in REFUSED:
        c = login_as(_user(make, w, role))
        assert c.get("/statistiques/").status_code == 403, role
        assert c.get("/statistiques/export/").status_code == 403, role
        assert c.get("/statistiques/dossiers/xlsx/").status_code == 403, role
        assert 'href="/statistiques/' not in c.get("/").get_data(as_text=True), role


def _figure(page, code):
    m = re.search(rf'id="oc-stat-{code}"><div class="oc-count">(\d+)</div>', page)
    assert m, code
    return int(m.group(1))


def test_statistics_page_shows_the_four_figures_and_generation_date(w, make, login_as):  # R-STA-2
    admin = make.user("admin_organisme", organisme=w.A)
    page = login_as(admin).get("/statistiques/").get_data(as_text=True)
    expected = expected_summary(mine(w.rows, organisme=w.A.id))
    for code in ("certifie", "en_cours", "non_certifie", "abandonne"):
        assert _figure(page, code) == expected[code], code
    assert "Date de génération des statistiques" in page
    assert TODAY.strftime("%d/%m/%Y") in page
    assert "<svg" in page and "Certificats délivrés" in page
    # the dispositif filter narrows the page
    clea = w.ref["CLEA"].id
    page = login_as(admin).get(f"/statistiques/?dispositif={clea}").get_data(as_text=True)
    rows = [r for r in mine(w.rows, organisme=w.A.id) if r["disp"] == "CLEA"]
    assert _figure(page, "certifie") == expected_summary(rows)["certifie"]
    assert f'<span class="oc-count" id="oc-total">{len(rows)}</span>' in page


def test_download_all_statistics_as_a_workbook(w, make, login_as):  # R-STA-2
    admin = make.user("admin_reseau", reseau=w.r1)
    r = login_as(admin).get("/statistiques/export/")
    assert r.status_code == 200 and r.headers["Content-Disposition"].endswith('statistiques.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert book.sheetnames == ["Synthèse", "Par statut", "Par dispositif", "Par certification",
                               "Par région", "Par établissement", "Par mois de création",
                               "Délais par dispositif"]
    rows = mine(w.rows, reseau=w.r1.id)
    synthese = {row[0]: row[1] for row in book["Synthèse"].iter_rows(min_row=2, values_only=True)}
    assert synthese["Dossiers de candidature"] == len(rows)
    expected = expected_summary(rows)
    for code, label, _ in stats.CATEGORIES:
        assert synthese[label] == expected[code]
    generated = synthese["Date de génération des statistiques"]  # a real date-time (Paris)
    assert isinstance(generated, dt.datetime) and abs(generated.date() - TODAY).days <= 1
    by_etab = {row[0]: row[1] for row in book["Par établissement"].iter_rows(min_row=2,
                                                                          values_only=True)}
    assert by_etab[w.A1.nom] == len(mine(rows, etab=w.A1.id))
    assert by_etab[w.A2.nom] == len(mine(rows, etab=w.A2.id))
    assert w.B1.nom not in by_etab and by_etab["Total"] == len(rows)
    by_month = list(book["Par mois de création"].iter_rows(min_row=2, values_only=True))
    assert sum(row[1] for row in by_month[:-1]) == len(rows)


def test_download_dossier_level_data(w, make, login_as):  # R-STA-2
    admin = make.user("admin_organisme", organisme=w.B)
    c = login_as(admin)
    r = c.get("/statistiques/dossiers/xlsx/")
    assert r.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    lines = list(sheet.iter_rows(values_only=True))
    rows = mine(w.rows, organisme=w.B.id)
    assert lines[0][:6] == ("N° de dossier", "Dispositif", "Certification", "Intitulé",
                            "Nom de naissance", "Prénom")
    assert sorted(x[0] for x in lines[1:]) == sorted(r["c"].numero for r in rows)
    head = list(lines[0])
    cat = {x[0]: x[head.index("Catégorie")] for x in lines[1:]}
    labels = {code: label for code, label, _ in stats.CATEGORIES}
    assert all(cat[r["c"].numero] == labels[category(r["statut"])] for r in rows)
    text = c.get("/statistiques/dossiers/csv/?statut=abandonnee").get_data(as_text=True)
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert sorted(x[0] for x in table[1:]) == sorted(
        r["c"].numero for r in rows if r["statut"] == "abandonnee")
    # a manager (observatoire) gets the same lines without the candidates' identity
    manager = make.user("manager", dispositif=w.ref["METALLURGIE"])
    sheet = openpyxl.load_workbook(io.BytesIO(
        login_as(manager).get("/statistiques/dossiers/xlsx/").data)).active
    lines = list(sheet.iter_rows(values_only=True))
    assert "Nom de naissance" not in lines[0] and "Prénom" not in lines[0]
    assert len(lines) - 1 == len(mine(w.rows, disp="METALLURGIE"))


def test_branch_statistics_for_the_manager(w, make, login_as):  # R-STA-3
    manager = make.user("manager", dispositif=w.ref["CHIMIE"])
    page = login_as(manager).get("/statistiques/").get_data(as_text=True)
    rows = mine(w.rows, disp="CHIMIE")
    assert f'<span class="oc-count" id="oc-total">{len(rows)}</span>' in page
    assert _figure(page, "partiel") == len(mine(rows, statut="partiel"))


# --- R-STA-1: the dashboard ------------------------------------------------------------------------
def expected_buckets(rows):
    return {code: sum(1 for r in rows if r["statut"] in statuses)
            for code, _, statuses in report_counts.DASHBOARD_BUCKETS}


def _bucket(page, code):
    m = re.search(rf'id="oc-bucket-{code}">\s*<div class="oc-count">(?:<a href="([^"]*)">)?(\d+)',
                  page)
    assert m, code
    return int(m.group(2)), (m.group(1) or "").replace("&amp;", "&")


def test_dashboard_counts_per_role(w, make, login_as):  # R-STA-1
    cases = [
        (make.user("utilisateur_etablissement", etablissement=w.A1), mine(w.rows, etab=w.A1.id)),
        (make.user("admin_organisme", organisme=w.A), mine(w.rows, organisme=w.A.id)),
        (make.user("secretariat", dispositif=w.ref["METALLURGIE"]),
         mine(w.rows, disp="METALLURGIE")),
    ]
    for user, rows in cases:
        expected = expected_buckets(rows)
        buckets = {b.code: b.total for b in stats.dashboard_counts(perimetre_of(user))}
        assert buckets == expected, user.username
        page = login_as(user).get("/").get_data(as_text=True)
        for code, n in expected.items():
            assert _bucket(page, code)[0] == n, (user.username, code)


def test_dossier_taken_by_a_jury_no_longer_waits_for_assignment(w, make, db):  # R-STA-1
    from app.models.jury import InscriptionJury, Jury
    user = make.user("utilisateur_etablissement", etablissement=w.B1)
    before = {b.code: b.total for b in stats.dashboard_counts(perimetre_of(user))}
    waiting = [r["c"] for r in mine(w.rows, etab=w.B1.id)
               if r["statut"] in ("en_attente_jury", "candidature_completee")]
    assert waiting and before["affectation_jury"] == len(waiting)
    day = TODAY + dt.timedelta(days=30)
    jury = Jury(dispositif_id=waiting[0].dispositif_id, certificateur="Certif Pro", date=day,
                capacite=30, date_limite_inscription=day - dt.timedelta(days=21))
    db.session.add(InscriptionJury(jury=jury, candidature=waiting[0], numero_anonyme=1, rang=1))
    # a registration that ended (withdrawn) does not count
    db.session.add(InscriptionJury(jury=jury, candidature=waiting[-1], numero_anonyme=2, rang=2,
                                   etat="retire", active=False))
    db.session.commit()
    after = {b.code: b.total for b in stats.dashboard_counts(perimetre_of(user))}
    assert after["affectation_jury"] == len(waiting) - 1
    assert after["evaluation_initiale"] == before["evaluation_initiale"]


def test_dashboard_lists_last_modified_and_last_certified(w, make, login_as):  # R-STA-1
    user = make.user("admin_organisme", organisme=w.A)
    rows = mine(w.rows, organisme=w.A.id)
    p = perimetre_of(user)
    modified = [line["numero"] for line in stats.last_modified(p)]
    by_update = sorted(rows, key=lambda r: (r["c"].updated_on, r["c"].id), reverse=True)
    assert modified == [r["c"].numero for r in by_update[:8]]
    certified = stats.last_certified(p)
    won = sorted([r for r in rows if r["statut"] in SUCCESS],
                 key=lambda r: (r["c"].decide_le, r["c"].id), reverse=True)
    assert [x["numero"] for x in certified] == [r["c"].numero for r in won[:8]]
    page = login_as(user).get("/").get_data(as_text=True)
    for numero in modified + [x["numero"] for x in certified]:
        assert numero in page
    assert "Dernières modifications" in page and "Dernières candidatures certifiées" in page
    assert "Notifications non lues" in page


def test_dashboard_offers_to_propose_a_candidature_where_the_role_may(w, make, login_as):  # R-STA-1
    may = [make.user("utilisateur_etablissement", etablissement=w.A1),
           make.user("employeur", entreprise=w.E),
           make.user("secretariat", dispositif=w.ref["CHIMIE"])]
    may_not = [make.user("manager", dispositif=w.ref["CLEA"]),
               make.user("superviseur_reseau", reseau=w.r1), make.user("evaluateur"),
               make.user("secretariat", dispositif=w.ref["CLEA"])]  # CléA: établissements create
    for user in may:
        page = login_as(user).get("/").get_data(as_text=True)
        assert "Proposer une candidature" in page, user.username
    for user in may_not:
        page = login_as(user).get("/").get_data(as_text=True)
        assert "Proposer une candidature" not in page, user.username


def test_dashboard_counts_link_to_the_filtered_list(w, make, login_as):  # R-STA-1
    user = make.user("admin_organisme", organisme=w.A)
    c = login_as(user)
    page = c.get("/").get_data(as_text=True)
    rows = mine(w.rows, organisme=w.A.id)
    for code, _, statuses in report_counts.DASHBOARD_BUCKETS:
        n, url = _bucket(page, code)
        # Each count opens the list of the same criterion (issue 16 item 2).
        assert url == f"/a-faire/{code}", url
        listing = c.get(url).get_data(as_text=True)
        shown = set(re.findall(r"T-\d{5}", listing))
        expected = {r["c"].numero for r in rows if r["statut"] in statuses}
        assert len(shown) == n and shown <= expected, code


def test_dashboard_statement_count_does_not_grow_with_dossiers(w, make, login_as, queries, db):
    """R-STA-1: a constant handful of statements, whatever the number of dossiers."""
    user = make.user("secretariat", dispositif=w.ref["CLEA"])
    c = login_as(user)
    ours = lambda statements: [s for s in statements if " ab_" not in s]
    with queries() as few:
        assert c.get("/").status_code == 200
    for i in range(40):
        w.dossier("CLEA", FLOWS["CLEA"][i % 9], TODAY - dt.timedelta(days=i), etab=w.A1,
                  eval_after=1, sent_after=1, jury_after=1, certificate_after=1)
    w.dossier.commit()
    with queries() as many:
        assert c.get("/").status_code == 200
    assert len(ours(many)) == len(ours(few)) <= 12


# --- R-NOT-2 ---------------------------------------------------------------------------------------
def test_reseau_notified_of_new_candidatures_when_it_asks(db, make, ref):  # R-NOT-2
    from app.models.notification import Notification
    r1 = make.reseau(nom="Réseau notifié", notifier_candidatures=True)
    r2 = make.reseau(nom="Réseau discret")
    e1 = make.etablissement(organisme=make.organisme(reseau=r1))
    e2 = make.etablissement(organisme=make.organisme(reseau=r2))
    admin1, admin1b = make.user("admin_reseau", reseau=r1), make.user("admin_reseau", reseau=r1)
    admin2 = make.user("admin_reseau", reseau=r2)
    other = make.user("admin_organisme", organisme=e1.organisme)
    c1 = make.candidature("CLEA", etablissement=e1)
    make.candidature("CLEA", etablissement=e2)
    notes = db.session.query(Notification).filter_by(rubrique="dossier_candidature").all()
    assert sorted(n.user_id for n in notes) == sorted([admin1.id, admin1b.id])
    assert all(c1.numero in n.titre and n.lien.endswith(str(c1.id)) for n in notes)
    assert not [n for n in notes if n.user_id in (admin2.id, other.id)]
    # the réseau turns the setting on: the next candidature is announced
    r2.notifier_candidatures = True
    db.session.commit()
    c3 = make.candidature("CLEA", etablissement=e2)
    assert db.session.query(Notification).filter_by(user_id=admin2.id).one().titre.endswith(c3.numero)


def test_reseau_setting_is_on_the_reseau_screen(db, make, login_as):  # R-NOT-2
    r = make.reseau(nom="Réseau à régler")
    admin = make.user("admin_reseau", reseau=r)
    c = login_as(admin)
    form = c.get(f"/reseauview/edit/{r.id}").get_data(as_text=True)
    assert "notifier_candidatures" in form and "Notifier chaque nouvelle candidature" in form
    c.post(f"/reseauview/edit/{r.id}", data={"nom": r.nom, "notifier_candidatures": "y"})
    db.session.expire_all()
    assert db.session.get(type(r), r.id).notifier_candidatures is True
    # …and may stop them: an unticked box is accepted (FAB made it a required field)
    c.post(f"/reseauview/edit/{r.id}", data={"nom": r.nom})
    db.session.expire_all()
    assert db.session.get(type(r), r.id).notifier_candidatures is False
