"""Loads the referentials (flask seed) and the demo data (flask demo); both idempotent."""
from datetime import date

from app.extensions import db
from app.models import Bloc, Certification, Competence, Dispositif, Passerelle
from app.seed_data import referentiels as ref

DISPOSITIFS = [
    {"code": "CHIMIE", "nom": "CQP des Industries Chimiques", "certificateur": "CPNE des Industries Chimiques",
         "structure_evaluation": "competences", "vocabulaire_decision": "valide_partiel",
         "createurs": "employeur,secretariat", "duree_acquis_mois": 60, "duree_acquis_rncp_mois": None,
         "capacite_jury_defaut": 30, "prefixe_numero": "CQP", "jury_paritaire": True,
         "modele_pv": "chimie"},
    {"code": "CLEA", "nom": "CléA", "certificateur": "Certif Pro", "structure_evaluation": "domaines_clea",
         "vocabulaire_decision": "certifie", "createurs": "etablissement", "duree_acquis_mois": None,
         "capacite_jury_defaut": 50, "prefixe_numero": "CLEA", "jury_paritaire": False,
         "modele_pv": "clea"},
    {"code": "METALLURGIE", "nom": "CQPM / CCPM de la Métallurgie",
         "certificateur": "UIMM territoriale — centre de certification", "structure_evaluation": "blocs",
         "vocabulaire_decision": "admis", "createurs": "employeur,etablissement,candidat",
         "duree_acquis_mois": 24, "duree_acquis_rncp_mois": 60, "capacite_jury_defaut": 30,
         "prefixe_numero": "MC", "lettre_gtp": True, "jury_paritaire": True,
         "modele_pv": "metallurgie"},
]


def _date(iso: str | None):
    return date.fromisoformat(iso) if iso else None


def _upsert(model, keys: dict, values: dict):
    row = db.session.query(model).filter_by(**keys).one_or_none()
    if row is None:
        row = model(**keys, **values)
        db.session.add(row)
    else:
        for k, v in values.items():
            setattr(row, k, v)
    return row


def seed_referentiels() -> dict:
    """R-REF-1..4, R-REF-6: the three dispositifs and their certifications."""
    disp = {}
    for d in DISPOSITIFS:
        values = {k: v for k, v in d.items() if k != "code"}
        row = db.session.query(Dispositif).filter_by(code=d["code"]).one_or_none()
        if row is None:  # settings belong to the secretariat once created
            row = Dispositif(**d)
            db.session.add(row)
        disp[d["code"]] = row
        del values
    db.session.flush()

    chimie = disp["CHIMIE"]
    cqp_titles = {}
    for i, c in enumerate(ref.CHIMIE_CQP):
        typ = "CQPI" if c["coefficient"] == "Non concerné" else "CQP"
        row = _upsert(Certification, {"dispositif_id": chimie.id, "code": c["code"]},
                      {"type": typ, "intitule": c["intitule"], "filiere": c["filiere"],
                       "coefficient": c["coefficient"]})
        cqp_titles[c["intitule"].lower()] = row
    cqp_codes = {row.code: row for row in cqp_titles.values()}
    for c in ref.CQPI + getattr(ref, "CQPI_HORS_BROCHURE", []):
        if c["intitule"].lower() in cqp_titles:
            continue
        row = _upsert(Certification, {"dispositif_id": chimie.id, "code": c["code"]},
                      {"type": "CQPI", "intitule": c["intitule"], "description": c.get("description"),
                       "membre_branche": bool(c.get("membre_branche_chimie")),
                       "obtention": c.get("obtention")})
        # R-REF-2: the CQP(s) giving this CQPI by equivalence; links added by the secretariat stay.
        for code in c.get("cqp_equivalents", []):
            if cqp_codes[code] not in row.equivalences:
                row.equivalences.append(cqp_codes[code])
    db.session.flush()
    for p in ref.PASSERELLES:
        cert = db.session.query(Certification).filter_by(dispositif_id=chimie.id, code=p["cqp_code"]).one_or_none()
        if cert is not None:
            _upsert(Passerelle, {"certification_id": cert.id, "certification_autre": p["certification_autre"]},
                    {"autre_branche": p["autre_branche"], "nature": p["nature"]})

    clea = disp["CLEA"]
    cert = _upsert(Certification, {"dispositif_id": clea.id, "code": "CLEA-SOCLE"},
                   {"type": "CLEA", "intitule": "Certificat CléA — socle de connaissances et de compétences professionnelles",
                    "rs_code": "RS5080"})
    db.session.flush()
    _load_structure(cert, [{"code": d["code"], "intitule": d["intitule"],
                            "competences": d["sous_domaines"]} for d in ref.CLEA_DOMAINES], [])

    metal = disp["METALLURGIE"]
    for c in ref.DEMO_METALLURGIE:
        cert = _upsert(Certification, {"dispositif_id": metal.id, "code": c["code"]},
                       {"type": c["type"], "intitule": c["intitule"], "niveau": c.get("niveau"),
                        "rncp_code": c.get("rncp_code"),
                        "date_enregistrement_rncp": _date(c.get("date_enregistrement_rncp")), "demo": True})
        db.session.flush()
        _load_structure(cert, c.get("blocs", []), c.get("competences", []))
        if c.get("cqpi"):
            _upsert(Certification, {"dispositif_id": metal.id, "code": c["code"] + " (CQPI)"},
                    {"type": "CQPI", "intitule": c["intitule"].replace("(démo)", "").strip() + " — CQPI (démo)",
                     "niveau": c.get("niveau"), "demo": True})
    db.session.commit()
    return disp


def _load_structure(cert, blocs, competences):
    ordre = 0
    for b_index, b in enumerate(blocs):
        bloc = _upsert(Bloc, {"certification_id": cert.id, "code": b["code"]},
                       {"intitule": b["intitule"], "ordre": b_index})
        db.session.flush()
        for c in b.get("competences", []):
            ordre += 1
            _upsert(Competence, {"certification_id": cert.id, "code": c["code"]},
                    {"intitule": c["intitule"], "bloc_id": bloc.id, "ordre": ordre})
    for c in competences:
        ordre += 1
        _upsert(Competence, {"certification_id": cert.id, "code": c["code"]},
                {"intitule": c["intitule"], "ordre": ordre})
