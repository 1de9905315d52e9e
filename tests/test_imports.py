"""Bulk import of candidates and their dossiers (issue 18): reading, preview with each error on
its cell, import of the valid rows, idempotence, error report."""
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from app.imports import candidats as spec
from app.imports import evaluateurs, process, structures
from app.models import Etablissement, Organisme
from app.models.candidature import Candidature, Historique
from app.models.habilitation import EvaluateurHabilite, HabilitationEvaluateur
from app.models.imports import ImportFichier, ImportLigne
from app.models.notification import MailMessage
from app.security.perimeter import perimetre_of
from tests.factories import luhn_complete

HEADERS = [c.header for c in spec.COLUMNS]


def row(make, etab, **kw):
    ident = make.identite()
    base = {"certification": "CLEA-SOCLE", "etablissement": etab.siret if etab else None,
            "entreprise": None, "civilite": "Madame", "nom_naissance": ident["nom_naissance"],
            "nom_usage": None, "prenom": "Claire", "date_naissance": "14/03/1990",
            "ne_etranger": "non", "ne_outre_mer": "non", "ville_naissance": "Lyon",
            "code_postal_naissance": "69003", "pays_naissance": None,
            "email": ident["email"], "telephone": None, "adresse": "1 rue de la Paix",
            "code_postal": "75002", "ville": "Paris", "statut_inscription": "Salarié",
            "financement": "CPF", "type_public": None, "niveau_formation": None,
            "objectifs_professionnels": "Obtenir un emploi stable dans la logistique."}
    base.update(kw)
    return base


def xlsx(rows, headers=None):
    wb = Workbook()
    ws = wb.active
    keys = [c.key for c in spec.COLUMNS]
    ws.append(headers or HEADERS)
    for r in rows:
        ws.append([r.get(k) for k in keys])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def setup(make, ref):
    etab = make.etablissement()
    make.habilitation(etab, ref["CLEA"])
    user = make.user("utilisateur_etablissement", etablissement=etab)
    return etab, user


def preview(db, user, content, name="candidats.xlsx", dispositif="CLEA", ref=None):
    p = perimetre_of(user)
    imp = process.upload(p, "candidats", ref[dispositif].id, name, content)
    db.session.commit()
    sheet = process.validate(imp, p)
    db.session.commit()
    return imp, sheet


def run(db, imp, user):
    process.confirm(imp, perimetre_of(user))
    db.session.expire_all()
    return db.session.get(ImportFichier, imp.id)


def test_mixed_file_preview_writes_nothing_then_imports_the_valid_rows(db, make, ref, setup):
    etab, user = setup
    rows = [row(make, etab), row(make, etab, prenom="J3an"), row(make, etab)]
    imp, _ = preview(db, user, xlsx(rows), ref=ref)
    assert (imp.total, imp.valides, imp.erreurs) == (3, 2, 1)
    assert imp.resultats[1]["erreurs"] == {
        "prenom": "Le prénom ne doit contenir que des lettres, espaces, tirets ou apostrophes."}
    assert db.session.query(Candidature).count() == 0  # the preview creates nothing
    imp = run(db, imp, user)
    assert (imp.statut, imp.creees) == ("terminee", 2)
    dossiers = db.session.query(Candidature).all()
    assert len(dossiers) == 2
    lines = db.session.query(Historique).filter_by(action="import").all()
    assert len(lines) == 2
    assert lines[0].libelle.startswith("Importé du fichier « candidats.xlsx » par Prénom Nom")


def test_every_kind_of_error_has_its_message_on_its_cell(db, make, ref, setup):
    etab, _ = setup
    user = make.user("utilisateur_organisme", organisme=etab.organisme)
    other_etab = make.etablissement()  # another perimeter (another organisme)
    make.habilitation(other_etab, ref["CLEA"])
    unhabilitated = make.etablissement(organisme=etab.organisme)
    bad = [
        row(make, etab, certification="INCONNUE"),
        row(make, etab, civilite="Docteur"),
        row(make, etab, nom_naissance=None),
        row(make, etab, date_naissance="31/02/1990"),
        row(make, etab, date_naissance="01/01/2020"),
        row(make, etab, ne_etranger="peut-être"),
        row(make, etab, code_postal_naissance="ABCDE"),
        row(make, etab, email="pas-une-adresse"),
        row(make, etab, statut_inscription="Retraité"),
        row(make, etab, financement="XYZ"),
        row(make, other_etab),
        row(make, etab, etablissement="12345678901234"),
        row(make, unhabilitated),
        row(make, etab, entreprise="12345678901234"),
        row(make, etab, niveau_formation="12"),
    ]
    imp, _ = preview(db, user, xlsx(bad), ref=ref)
    errors = [r["erreurs"] for r in imp.resultats]
    assert errors[0] == {"certification": "Certification inconnue dans le dispositif CléA : "
                                          "voyez l'onglet « Codes acceptés » du modèle."}
    assert errors[1] == {"civilite": "Choisissez la civilité."}
    assert errors[2] == {"nom_naissance": "Le nom de naissance est obligatoire."}
    assert errors[3] == {"date_naissance": "Date invalide (jj/mm/aaaa)."}
    assert errors[4]["date_naissance"].startswith("Date de naissance invraisemblable")
    assert errors[5] == {"ne_etranger": "Répondez « oui » ou « non »."}
    assert list(errors[6]) == ["code_postal_naissance"]
    assert errors[7] == {"email": "Adresse e-mail invalide."}
    assert errors[8] == {"statut_inscription": "Choisissez le statut du candidat à l'inscription."}
    assert errors[9] == {"financement": "Dispositif de financement inconnu."}
    # R-ACC-5: another perimeter's établissement and an unknown SIRET read alike.
    assert errors[10] == {"etablissement": "Établissement inconnu ou hors de votre périmètre."}
    assert errors[11] == {"etablissement": "Établissement inconnu ou hors de votre périmètre."}
    assert list(errors[12]) == ["etablissement"]  # R-HAB-2
    assert "n'a pas d'habilitation valide" in errors[12]["etablissement"]
    assert errors[13] == {"entreprise": "Entreprise inconnue : elle doit être inscrite avant "
                                        "l'import."}
    assert errors[14] == {"niveau_formation": "Le niveau de formation va de 1 à 8 "
                                              "(cadre européen)."}
    assert imp.valides == 0 and imp.erreurs == len(bad)


def test_duplicates_within_the_file_and_against_the_base(db, make, ref, setup):
    # R-CAN-2
    etab, user = setup
    existing = make.candidature("CLEA", etablissement=etab, by=user)
    person = existing.candidat
    twin = row(make, etab)
    same_as_base = row(make, etab, nom_naissance=person.nom_naissance, prenom=person.prenom,
                       date_naissance=person.date_naissance.strftime("%d/%m/%Y"))
    imp, _ = preview(db, user, xlsx([twin, dict(twin, prenom="claire"), same_as_base]), ref=ref)
    errors = [r["erreurs"] for r in imp.resultats]
    assert errors[0] == {}
    assert errors[1] == {"nom_naissance": spec.duplicate_message(2)}
    assert errors[2]["nom_naissance"].startswith("Ce candidat a déjà un dossier en cours ou "
                                                 f"certifié pour cette certification (n° {existing.numero})")


def test_re_upload_creates_nothing_twice(db, make, ref, setup):
    etab, user = setup
    content = xlsx([row(make, etab), row(make, etab)])
    imp = run(db, preview(db, user, content, ref=ref)[0], user)
    assert imp.creees == 2
    again, _ = preview(db, user, content, ref=ref)
    assert (again.valides, again.deja_importees, again.erreurs) == (0, 2, 0)
    assert process.previous_same_file(again).id == imp.id
    again = run(db, again, user)
    assert again.creees == 0
    assert db.session.query(Candidature).count() == 2
    assert db.session.query(ImportLigne).count() == 2


def test_confirm_twice_runs_once(db, make, ref, setup):
    etab, user = setup
    imp, _ = preview(db, user, xlsx([row(make, etab)]), ref=ref)
    assert process.confirm(imp, perimetre_of(user)) is True
    assert process.confirm(imp, perimetre_of(user)) is False
    assert db.session.query(Candidature).count() == 1


def test_windows_1252_semicolon_csv_with_headers_in_any_order_and_case(db, make, ref, setup):
    etab, user = setup
    r = row(make, etab, nom_naissance="Lefèvre", prenom="Zoé")
    keys = list(reversed([c.key for c in spec.COLUMNS]))
    headers = {c.key: c.header for c in spec.COLUMNS}
    lines = [";".join(headers[k].upper().replace("É", "E") for k in keys)]
    lines.append(";".join(str(r.get(k) or "") for k in keys))
    content = "\r\n".join(lines).encode("cp1252")
    imp, _ = preview(db, user, content, name="export.csv", ref=ref)
    assert imp.resultats[0]["erreurs"] == {}
    imp = run(db, imp, user)
    assert imp.creees == 1
    assert db.session.query(Candidature).one().candidat.nom_naissance == "Lefèvre"


def test_utf8_comma_csv(db, make, ref, setup):
    etab, user = setup
    r = row(make, etab, prenom="Anaïs")
    keys = [c.key for c in spec.COLUMNS]
    lines = [",".join(f'"{c.header}"' for c in spec.COLUMNS),
             ",".join(f'"{r.get(k) or ""}"' for k in keys)]
    imp, _ = preview(db, user, "\n".join(lines).encode("utf-8"), name="a.csv", ref=ref)
    assert imp.resultats[0]["erreurs"] == {} and imp.valides == 1


def test_ods_with_real_dates(db, make, ref, setup):
    import tablib
    etab, user = setup
    r = row(make, etab, date_naissance=dt.date(1988, 5, 17), code_postal_naissance=1000)
    data = tablib.Dataset(headers=HEADERS)
    data.append([r.get(c.key) for c in spec.COLUMNS])
    imp, _ = preview(db, user, data.export("ods"), name="inscrits.ods", ref=ref)
    assert imp.resultats[0]["erreurs"] == {}
    run(db, imp, user)
    person = db.session.query(Candidature).one().candidat
    assert person.date_naissance == dt.date(1988, 5, 17)
    assert person.code_postal_naissance == "01000"  # a number in the sheet, padded back


def test_unknown_column_asks_for_a_mapping(db, make, ref, setup):
    etab, user = setup
    headers = list(HEADERS)
    headers[HEADERS.index("Prénom")] = "Prénom usuel du stagiaire"
    imp, sheet = preview(db, user, xlsx([row(make, etab)], headers), ref=ref)
    assert sheet.needs_mapping
    assert sheet.matching.unknown == ["Prénom usuel du stagiaire"]
    assert sheet.matching.missing == ["Prénom"]
    imp.mapping = {"Prénom usuel du stagiaire": "prenom"}
    db.session.commit()
    sheet = process.validate(imp, perimetre_of(user))
    assert not sheet.needs_mapping and imp.valides == 1


def test_error_report_is_the_same_sheet_with_an_errors_column(db, make, ref, setup):
    from app.imports.report import error_report
    etab, user = setup
    imp, _ = preview(db, user, xlsx([row(make, etab), row(make, etab, email="faux")]), ref=ref)
    sheet = process.read(imp)
    wb = load_workbook(io.BytesIO(error_report(sheet, imp.resultats, process.labels(sheet))))
    ws = wb.active
    header = [c.value for c in ws[1]]
    assert header == HEADERS + ["Erreurs"]
    assert ws.cell(2, len(header)).value in (None, "")
    assert ws.cell(3, len(header)).value == "E-mail : Adresse e-mail invalide."
    assert ws.cell(3, HEADERS.index("E-mail") + 1).fill.fgColor.rgb.endswith("F8D7DA")


def test_the_fixed_report_imports_the_rest(db, make, ref, setup):
    from app.imports.report import error_report
    etab, user = setup
    imp, _ = preview(db, user, xlsx([row(make, etab), row(make, etab, email="faux")]), ref=ref)
    imp = run(db, imp, user)
    sheet = process.read(imp)
    wb = load_workbook(io.BytesIO(error_report(sheet, imp.resultats, process.labels(sheet))))
    ws = wb.active
    ws.cell(3, HEADERS.index("E-mail") + 1).value = "corrige@exemple.fr"
    out = io.BytesIO()
    wb.save(out)
    again, sheet = preview(db, user, out.getvalue(), name="candidats-corrige.xlsx", ref=ref)
    assert not sheet.needs_mapping  # the « Erreurs » column is ours: ignored
    assert (again.valides, again.deja_importees, again.erreurs) == (1, 1, 0)
    assert run(db, again, user).creees == 1
    assert db.session.query(Candidature).count() == 2


def test_statements_per_row_are_constant(db, make, ref, setup):
    """No per-row lookup of referentials: the statements grow by the same number per row."""
    etab, user = setup
    counts = []
    for n in (4, 8, 12):
        content = xlsx([row(make, etab) for _ in range(n)])
        p = perimetre_of(user)
        imp = process.upload(p, "candidats", ref["CLEA"].id, f"f{n}.xlsx", content)
        db.session.commit()
        statements = []

        def count(*args, _seen=statements, **kw):
            _seen.append(1)
        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            process.validate(imp, p)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        db.session.commit()
        counts.append(len(statements))
    assert counts[1] - counts[0] == counts[2] - counts[1], counts


def test_an_employer_of_chimie_and_a_role_without_creation(db, make, ref):
    ent = make.entreprise(region="Île-de-France")
    employer = make.user("employeur", entreprise=ent)
    r = {"certification": "CQP-CHIMIE-01", **{k: v for k, v in row(make, None).items()
                                               if k != "certification"}}
    imp, _ = preview(db, employer, xlsx([r]), dispositif="CHIMIE", ref=ref)
    assert imp.resultats[0]["erreurs"] == {}
    evaluator = make.user("evaluateur")
    from app.errors import RuleViolation
    with pytest.raises(RuleViolation):
        process.upload(perimetre_of(evaluator), "candidats", ref["CLEA"].id, "x.xlsx", xlsx([r]))


# -- établissements and organismes -----------------------------------------------------------------

STRUCT_HEADERS = [c.header for c in structures.COLUMNS]


def struct_row(make, siren=None, **kw):
    siren = siren or make.siren()
    base = {"siren": siren, "organisme": "Greta Test", "reseau": None,
            "siret": make.siret(siren), "libelle": "Metz", "adresse": "1 rue de la Gare",
            "code_postal": "57000", "ville": "Metz", "region": "grand est",
            "contact_nom": None, "contact_email": None, "contact_telephone": None}
    base.update(kw)
    return base


def struct_xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(STRUCT_HEADERS)
    for r in rows:
        ws.append([r.get(c.key) for c in structures.COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def struct_preview(db, user, content):
    p = perimetre_of(user)
    imp = process.upload(p, "etablissements", None, "sites.xlsx", content)
    db.session.commit()
    process.validate(imp, p)
    db.session.commit()
    return imp


def test_etablissements_every_error_and_the_admin_reseau_stays_in_his_reseau(db, make, ref):
    # R-FMT-1, R-FMT-2, R-ACC-5
    mine, other = make.reseau(), make.reseau(nom="Autre réseau")
    admin = make.user("admin_reseau", reseau=mine)
    foreign_org = make.organisme(reseau=other)
    existing = make.etablissement(organisme=make.organisme(reseau=mine))
    shared = make.siren()
    rows = [
        struct_row(make, siren="123456789"),
        struct_row(make, siret="12345678901234"),
        struct_row(make, siret=make.siret()),
        struct_row(make, region="Atlantide"),
        struct_row(make, code_postal="ABCDE"),
        struct_row(make, reseau="Autre réseau"),
        struct_row(make, siren=foreign_org.siren),
        struct_row(make, siren=existing.organisme.siren, siret=existing.siret),
        struct_row(make, siren=shared, siret=luhn_complete(shared + "0001")),
        struct_row(make, siren=shared, siret=luhn_complete(shared + "0001")),
        struct_row(make, reseau="Inconnu"),
    ]
    imp = struct_preview(db, admin, struct_xlsx(rows))
    errors = [r["erreurs"] for r in imp.resultats]
    assert errors[0] == {"siren": "Le SIREN 123456789 n'est pas valide (clé de contrôle)."}
    assert errors[1] == {"siret": "Le SIRET 12345678901234 n'est pas valide (clé de contrôle)."}
    assert errors[2] == {"siret": "Le SIRET ne commence pas par le SIREN de l'organisme."}
    assert errors[3] == {"region": "Région inconnue."}
    assert list(errors[4]) == ["code_postal"]
    assert errors[5] == {"reseau": "Vous n'importez que dans votre réseau."}
    assert errors[6] == {"siren": "Cet organisme existe hors de votre périmètre."}
    assert errors[7] == {"siret": "Un établissement existe déjà avec ce SIRET."}
    assert errors[8] == {}
    assert errors[9] == {"siret": structures.duplicate_message(10)}
    assert errors[10] == {"reseau": "Réseau inconnu."}
    assert db.session.query(Organisme).filter_by(siren=shared).count() == 0  # preview


def test_etablissements_import_shares_a_new_organisme_and_runs_once(db, make, ref):
    mine = make.reseau()
    admin = make.user("admin_reseau", reseau=mine)
    siren = make.siren()
    rows = [struct_row(make, siren=siren, libelle="Metz"),
            struct_row(make, siren=siren, libelle="Nancy", ville="Nancy")]
    content = struct_xlsx(rows)
    imp = run(db, struct_preview(db, admin, content), admin)
    assert imp.creees == 2
    org = db.session.query(Organisme).filter_by(siren=siren).one()
    assert org.reseau_id == mine.id
    assert sorted(e.nom for e in org.etablissements) == ["GRETA TEST Metz", "GRETA TEST Nancy"]
    again = struct_preview(db, admin, content)
    assert (again.valides, again.deja_importees) == (0, 2)
    run(db, again, admin)
    assert db.session.query(Etablissement).filter(Etablissement.organisme_id == org.id).count() == 2


def test_etablissements_by_the_secretariat_not_by_an_etablissement(db, make, ref):
    sec = make.user("secretariat", dispositif=ref["CLEA"])
    reseau = make.reseau(nom="Réseau des Gretas")
    imp = run(db, struct_preview(db, sec, struct_xlsx([struct_row(make, reseau="reseau des gretas")])), sec)
    assert imp.creees == 1
    assert db.session.query(Organisme).filter_by(reseau_id=reseau.id).count() == 1
    etab_user = make.user("admin_etablissement", etablissement=make.etablissement())
    from app.errors import RuleViolation
    with pytest.raises(RuleViolation):
        process.upload(perimetre_of(etab_user), "etablissements", None, "x.xlsx", struct_xlsx([]))


# -- habilitated evaluators ----------------------------------------------------------------------

EV_HEADERS = [c.header for c in evaluateurs.COLUMNS]


def ev_row(**kw):
    base = {"prenom": "Paul", "nom": "Durand", "email": "paul.durand@exemple.fr",
            "employeur_nom": "Chimie SAS", "certification": "CQP-CHIMIE-01",
            "region": "auvergne-rhone-alpes", "date_debut": "01/01/2027", "date_fin": "31/12/2029"}
    base.update(kw)
    return base


def ev_xlsx(rows):
    wb = Workbook()
    ws = wb.active
    ws.append(EV_HEADERS)
    for r in rows:
        ws.append([r.get(c.key) for c in evaluateurs.COLUMNS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_evaluators_with_their_habilitations_by_the_secretariat(db, make, ref):
    # R-HAB-5
    sec = make.user("secretariat", dispositif=ref["CHIMIE"])
    other = make.user("employeur", entreprise=make.entreprise())
    rows = [ev_row(), ev_row(certification="CQP-CHIMIE-02", region="Bretagne"),
            ev_row(certification="CLEA-SOCLE"), ev_row(region="Atlantide"),
            ev_row(date_debut="01/01/2028", date_fin="01/01/2026"), ev_row(email=other.email),
            ev_row(employeur_siret="12345678901234", email="autre@exemple.fr"),
            ev_row()]
    p = perimetre_of(sec)
    imp = process.upload(p, "evaluateurs", ref["CHIMIE"].id, "evaluateurs.xlsx", ev_xlsx(rows))
    db.session.commit()
    process.validate(imp, p)
    db.session.commit()
    errors = [r["erreurs"] for r in imp.resultats]
    assert errors[0] == {} and errors[1] == {}
    assert errors[2] == {"certification": "Certification inconnue dans le dispositif "
                                          "CQP des Industries Chimiques."}
    assert errors[3] == {"region": "Région inconnue."}
    assert errors[4] == {"date_fin": "La date de fin doit suivre la date de début."}
    assert errors[5] == {"email": "Un compte qui n'est pas celui d'un évaluateur habilité existe "
                                  "déjà avec cette adresse e-mail."}
    assert errors[6] == {"employeur_siret": "Le SIRET 12345678901234 n'est pas valide "
                                            "(clé de contrôle)."}
    assert errors[7] == {"certification": evaluateurs.duplicate_message(2)}
    assert db.session.query(MailMessage).count() == 0  # the preview invites nobody
    imp = run(db, imp, sec)
    assert imp.creees == 2
    ev = db.session.query(EvaluateurHabilite).one()
    assert sorted(h.region for h in ev.habilitations) == ["Auvergne-Rhône-Alpes", "Bretagne"]
    assert db.session.query(MailMessage).filter_by(destinataire="paul.durand@exemple.fr").count() == 1
    again = process.upload(p, "evaluateurs", ref["CHIMIE"].id, "e.xlsx", ev_xlsx(rows[:2]))
    db.session.commit()
    process.validate(again, p)
    db.session.commit()
    assert (again.valides, again.deja_importees) == (0, 2)
    assert run(db, again, sec).creees == 0
    assert db.session.query(HabilitationEvaluateur).count() == 2


def test_evaluators_import_is_the_secretariats_own(db, make, ref):
    sec_clea = make.user("secretariat", dispositif=ref["CLEA"])
    from app.errors import RuleViolation
    with pytest.raises(RuleViolation):
        process.upload(perimetre_of(sec_clea), "evaluateurs", ref["CHIMIE"].id, "e.xlsx",
                       ev_xlsx([ev_row()]))


# -- REST API ------------------------------------------------------------------------------------
def test_api_upload_preview_confirm(db, make, ref, setup, login_as):
    etab, user = setup
    client = login_as(user)
    content = xlsx([row(make, etab), row(make, etab, email="faux")])
    r = client.post("/api/v1/import/depot", data={
        "kind": "candidats", "dispositif": str(ref["CLEA"].id),
        "fichier": (io.BytesIO(content), "api.xlsx")}, content_type="multipart/form-data")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert (body["valides"], body["erreurs"]) == (1, 1)
    assert body["lignes"][1]["erreurs"] == {"email": "Adresse e-mail invalide."}
    assert body["colonnes"]["email"] == "E-mail"
    pk = body["id"]
    assert client.get(f"/api/v1/import/{pk}/apercu").get_json()["total"] == 2
    r = client.post(f"/api/v1/import/{pk}/confirmer")
    assert r.status_code == 200 and r.get_json()["creees"] == 1
    assert client.post(f"/api/v1/import/{pk}/confirmer").get_json()["creees"] == 1
    assert db.session.query(Candidature).count() == 1
    other = login_as(make.user("utilisateur_etablissement", etablissement=etab))
    assert other.get(f"/api/v1/import/{pk}/apercu").status_code == 404
    assert other.post(f"/api/v1/import/{pk}/confirmer").status_code == 404
    bad = client.post("/api/v1/import/depot", data={
        "kind": "candidats", "dispositif": str(ref["CLEA"].id),
        "fichier": (io.BytesIO(b"\x00garbage"), "x.xlsx")}, content_type="multipart/form-data")
    assert bad.status_code == 422
    assert bad.get_json()["message"] == ("Le fichier n'a pas pu être lu comme un fichier .xlsx : "
                                         "vérifiez son format.")


def test_the_same_file_imported_twice_at_once_creates_each_row_once(app, db, make, ref, setup):
    """Two imports of the same file confirmed at the same moment (two workers, two users'
    clicks): the row identity is unique, so each dossier is created once (PostgreSQL only)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("Concurrency is checked on PostgreSQL (SQLite serialises every writer).")
    import threading

    from tests.test_jury_concurrency import engine_with_room
    etab, user = setup
    content = xlsx([row(make, etab) for _ in range(5)])
    ids = []
    for _ in range(2):
        imp, _ = preview(db, user, content, ref=ref)
        ids.append(imp.id)
    db.session.query(ImportFichier).update({"statut": "en_attente"})
    db.session.commit()
    db.session.remove()
    barrier = threading.Barrier(2, timeout=60)
    errors = []

    def worker(import_id):
        from app.extensions import db as tdb
        with app.app_context():
            try:
                barrier.wait()
                process.run_import(import_id)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(repr(exc))
            finally:
                tdb.session.remove()

    with engine_with_room(app, db, 6):
        threads = [threading.Thread(target=worker, args=(i,)) for i in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert errors == []
    imports = db.session.query(ImportFichier).order_by(ImportFichier.id).all()
    assert [i.statut for i in imports] == ["terminee", "terminee"]
    assert sum(i.creees for i in imports) == 5
    assert sum(i.deja_importees for i in imports) == 5 and sum(i.erreurs for i in imports) == 0
    assert db.session.query(Candidature).count() == 5
    assert db.session.query(ImportLigne).count() == 5


def test_with_a_worker_the_import_is_queued_and_reports_its_progress(db, make, ref, setup,
                                                                     monkeypatch):
    """REDIS_URL set: « Importer » only queues the job (app/jobs.py); the worker commits every
    COMMIT_EVERY rows, so the progress bar moves while it runs."""
    from app import jobs
    etab, user = setup
    queued, progress = [], []

    class FakeQueue:
        def enqueue(self, fn, path, *args, **kwargs):
            queued.append((path, args))
    monkeypatch.setattr(jobs, "queue", lambda *_names: FakeQueue())
    monkeypatch.setattr(process, "COMMIT_EVERY", 2)
    imp, _ = preview(db, user, xlsx([row(make, etab) for _ in range(5)]), ref=ref)
    assert process.confirm(imp, perimetre_of(user)) is True
    assert queued == [("app.imports.process.run_import", (imp.id,))]
    db.session.expire_all()
    assert db.session.get(ImportFichier, imp.id).statut == "en_attente"
    assert db.session.query(Candidature).count() == 0
    real_progress = process.progress

    def spy(import_id, done):
        real_progress(import_id, done)
        progress.append((done, db.session.query(Candidature).count()))
    monkeypatch.setattr(process, "progress", spy)
    path, args = queued[0]
    jobs._resolve(path)(*args)  # what the worker runs, in this test's session
    imp = db.session.get(ImportFichier, imp.id)
    assert (imp.statut, imp.creees, imp.done) == ("terminee", 5, 5)
    assert progress == [(2, 2), (4, 4)]  # rows committed with each chunk's progress


def test_a_large_file_is_checked_by_a_background_job(db, make, ref, setup, monkeypatch):
    from app import jobs
    etab, user = setup
    queued = []

    class FakeQueue:
        def enqueue(self, fn, path, *args, **kwargs):
            queued.append((path, args))
    monkeypatch.setattr(jobs, "queue", lambda *_names: FakeQueue())
    monkeypatch.setattr(process, "PREVIEW_INLINE_MAX", 3)
    monkeypatch.setattr(process, "COMMIT_EVERY", 2)
    p = perimetre_of(user)
    imp = process.upload(p, "candidats", ref["CLEA"].id, "gros.xlsx",
                         xlsx([row(make, etab) for _ in range(4)] + [row(make, etab, email="x")]))
    db.session.commit()
    assert process.check(imp, p) is None
    assert queued == [("app.imports.process.run_preview", (imp.id,))]
    assert db.session.get(ImportFichier, imp.id).statut == "verification"
    from app.errors import RuleViolation
    with pytest.raises(RuleViolation, match="pas encore été vérifié"):
        process.confirm(imp, p)
    jobs._resolve(queued[0][0])(*queued[0][1])  # what the worker runs, in this test's session
    db.session.expire_all()
    imp = db.session.get(ImportFichier, imp.id)
    assert (imp.statut, imp.total, imp.valides, imp.erreurs) == ("apercu", 5, 4, 1)
    assert db.session.query(Candidature).count() == 0


def test_old_excel_xls_with_a_date_cell(db, make, ref, setup):
    import xlwt
    etab, user = setup
    r = row(make, etab, date_naissance=dt.date(1979, 11, 2))
    book = xlwt.Workbook()
    sheet = book.add_sheet("Feuil1")
    dates = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for j, col in enumerate(spec.COLUMNS):
        sheet.write(0, j, col.header)
        value = r.get(col.key)
        if value is not None:
            sheet.write(1, j, value, dates) if isinstance(value, dt.date) else sheet.write(1, j, value)
    out = io.BytesIO()
    book.save(out)
    imp, _ = preview(db, user, out.getvalue(), name="ancien.xls", ref=ref)
    assert imp.resultats[0]["erreurs"] == {}
    run(db, imp, user)
    assert db.session.query(Candidature).one().candidat.date_naissance == dt.date(1979, 11, 2)


def test_the_chimie_secretariat_imports_dossiers_for_an_employer(db, make, ref):
    # R-DIS-2: the chemical dispositif lets its secretariat create dossiers
    sec = make.user("secretariat", dispositif=ref["CHIMIE"])
    ent = make.entreprise(region="Île-de-France")
    r = {**row(make, None), "certification": "CQP-CHIMIE-01", "entreprise": ent.siret,
         "parcours": "1"}
    cols = spec.columns(ref["CHIMIE"])
    wb = Workbook()
    ws = wb.active
    ws.append([c.header for c in cols])
    ws.append([r.get(c.key) for c in cols])
    out = io.BytesIO()
    wb.save(out)
    imp, _ = preview(db, sec, out.getvalue(), dispositif="CHIMIE", ref=ref)
    assert imp.resultats[0]["erreurs"] == {}
    run(db, imp, sec)
    c = db.session.query(Candidature).one()
    assert (c.entreprise_id, c.parcours, c.createur_type) == (ent.id, "1", "secretariat")
    assert not spec.may_import(perimetre_of(make.user("secretariat", dispositif=ref["CLEA"])),
                               ref["CLEA"])


def test_the_direct_xlsx_reader_gives_what_openpyxl_gives():
    """app/imports/xlsx_fast.py reads the sheet's XML itself (5× faster): same values as
    openpyxl's read-only mode — shared and inline strings, numbers, booleans, dates by their
    format, an unevaluated formula, a row left out."""
    from openpyxl import load_workbook

    from app.imports.xlsx_fast import rows
    wb = Workbook()
    ws = wb.active
    ws.append(["Nom", "Date", "N", "F", "B", None, "x"])
    ws.append(["Éloïse", dt.date(1990, 3, 14), 3, 2.5, True, None, "=1+1"])
    ws.append([None, dt.datetime(2020, 1, 2, 10, 30), 12345678901234, -1e-5, False, "a", None])
    ws.append([])
    ws.append(["fin", "14/03/1990", "0069003", None, None, None, "z"])
    ws["B6"], ws["D6"] = 45000, 45000
    ws["B6"].number_format, ws["D6"].number_format = "dd/mm/yyyy", "0.00"
    out = io.BytesIO()
    wb.save(out)
    expected = [list(r) for r in load_workbook(io.BytesIO(out.getvalue()), read_only=True,
                                               data_only=True).worksheets[0].iter_rows(
        values_only=True)]
    got = rows(out.getvalue())
    assert [r + [None] * (len(e) - len(r)) for r, e in zip(got, expected)] == expected
    assert len(got) == len(expected) == 6
    assert got[5][1] == dt.datetime(2023, 3, 15) and got[5][3] == 45000
