"""What a jury hands to the documents feature (DOMAIN.md §10): the data of its PV (R-DOC-1),
attendance sheet (R-DOC-2), certificates of the attributions (R-DOC-4, R-DEC-3) and decision
letters (R-DEC-4), in the shapes app/workflow/documents_data.py documents. Numbering, rendering
and storing are documents_emis's: issue_jury_documents() only builds the dicts and calls it.
"""
from app.extensions import db
from app.models.candidature import Candidat, Candidature
from app.models.jury import AttributionCertification, InscriptionJury, Jury
from app.security.perimeter import Perimetre
from app.workflow import RuleViolation
from app.workflow.jury_decisions import FULL, benefit_months, decision_rows
from app.workflow.jurys import ensure_organiser

KINDS = ("pv", "emargement", "certificat", "lettre_decision")


def jury_data(jury: Jury) -> dict:
    return {"date": jury.date, "lieu": jury.lieu or jury.modalite_label,
            "president": jury.president, "qualite_president": jury.qualite_president}


def _departement(cp: str | None) -> str:
    cp = (cp or "").strip()
    return cp[:3] if cp.startswith("97") else cp[:2]


def titulaire_data(person: Candidat) -> dict:
    """The holder as printed (R-CAN-1): birth name, birth place, postal address."""
    lines = [x for x in (person.adresse, " ".join(y for y in (person.code_postal, person.ville) if y),
                         person.pays if person.pays and person.pays != "France" else None) if x]
    return {"prenom": person.prenom, "nom": person.nom_usage or person.nom_naissance,
            "nom_naissance": person.nom_naissance, "date_naissance": person.date_naissance,
            "ville_naissance": person.ville_naissance or "",
            "departement_naissance": "" if person.ne_etranger else _departement(
                person.code_postal_naissance),
            "pays_naissance": person.pays_naissance if person.ne_etranger else "France",
            "civilite_label": person.civilite_label, "adresse_lignes": lines}


def certification_data(cert) -> dict:
    return {"type": cert.type, "code": cert.code, "intitule": cert.intitule,
            "niveau": cert.niveau, "rncp_code": cert.rncp_code,
            "date_enregistrement_rncp": cert.date_enregistrement_rncp, "rs_code": cert.rs_code}


def _published(jury: Jury) -> list[InscriptionJury]:
    if jury.etat != "clos":
        raise RuleViolation("Les documents du jury s'émettent une fois le jury clos et ses "
                            "décisions publiées.", "R-JUR-9")
    return [i for i in decision_rows(jury) if i.etat == "publie"]


def pv_data(jury: Jury) -> dict:
    """R-DOC-1: one section per certification; decision A or NA only; no company for a DE."""
    sections: dict[int, dict] = {}
    for ins in _published(jury):
        c: Candidature = ins.candidature
        person, ent = c.candidat, c.entreprise
        origine = c.origine or ("DE" if c.statut_inscription == "demandeur_emploi" else "SL")
        row = {**{k: titulaire_data(person)[k] for k in ("prenom", "date_naissance",
                                                         "ville_naissance", "departement_naissance",
                                                         "pays_naissance")},
               "nom": person.nom_naissance, "origine": origine, "financement": c.financement or "",
               "raison_sociale": ent.raison_sociale if ent else "",
               "adresse_entreprise": " ".join(x for x in (ent.adresse, ent.code_postal, ent.ville)
                                              if x) if ent else "",
               "code_nace": ent.naf if ent else "", "secteur": ent.secteur if ent else "",
               "branche": ent.branche if ent else "",
               "decision": "A" if ins.decision in FULL else "NA",
               # (6) of Annexe 14: « CPF en cas d'abondement ».
               "commentaire": "CPF" if (c.financement or "").startswith("CPF") else ""}
        section = sections.setdefault(c.certification_id, {
            "certification": {"code": c.certification.code,
                              "intitule": c.certification.intitule}, "candidats": []})
        section["candidats"].append(row)
    if not sections:
        raise RuleViolation("Aucune décision publiée pour ce jury.", "R-DOC-1")
    return {"jury": jury_data(jury), "sections": list(sections.values())}


def emargement_data(jury: Jury) -> dict:
    """R-DOC-2: every designated person, or failing a designation the invited organisation."""
    counts: dict[int, dict] = {}
    for ins in decision_rows(jury):
        cert = ins.candidature.certification
        entry = counts.setdefault(cert.id, {"code": cert.code, "intitule": cert.intitule,
                                            "nombre_candidats": 0})
        entry["nombre_candidats"] += 1
    membres = []
    for m in jury.membres:
        if m.designe:
            prenom, nom = ((m.user.first_name, m.user.last_name) if m.user is not None
                           else (m.prenom or "", m.nom))
            membres.append({"nom": nom, "prenom": prenom, "qualite": m.qualite or m.college_label,
                            "organisation": m.organisation or m.syndicat or ""})
        elif not any(o.designe and o.syndicat == m.syndicat for o in jury.membres):
            membres.append({"organisation": m.syndicat})
    return {"jury": jury_data(jury), "organisateur": jury.certificateur,
            "certifications": list(counts.values()), "membres": membres}


def certificate_items(jury: Jury) -> list[dict]:
    """R-DOC-4 / R-DEC-3: one certificate per attribution of the jury (certification, CQPI, bloc),
    with the passerelles of a chemical CQP (R-DEC-5) and the domains of CléA."""
    from app.workflow.documents_data import certificate_template
    ids = [i.id for i in _published(jury)]
    rows = (db.session.query(AttributionCertification)
            .filter(AttributionCertification.inscription_id.in_(ids or [0]))
            .order_by(AttributionCertification.id).all())
    items = []
    for a in rows:
        c = a.candidature
        cert = a.certification
        data = {"titulaire": titulaire_data(c.candidat), "certification": certification_data(cert),
                "jury": jury_data(jury)}
        if a.nature == "bloc":
            data["bloc"] = {"code": a.bloc.code, "intitule": a.bloc.intitule}
        if cert.type == "CLEA":
            data["domaines"] = [{"code": b.code, "intitule": b.intitule} for b in cert.blocs]
        if cert.type == "CQP":
            data["passerelles"] = [{"certification_autre": p.certification_autre,
                                    "autre_branche": p.autre_branche, "nature": p.nature}
                                   for p in cert.passerelles]
        items.append({"data": data, "candidature_id": c.id,
                      "template": certificate_template(cert.type, bloc=a.nature == "bloc")})
    return items


def letter_items(jury: Jury) -> list[dict]:
    """R-DEC-4: a letter for every candidate not admitted — partial validation when something was
    acquired (blocs if the certification is in the RNCP, else competences)."""
    from app.models import Bloc, Competence
    items = []
    for ins in _published(jury):
        if ins.decision in FULL:
            continue
        c = ins.candidature
        cert = c.certification
        blocs = bool(cert.rncp_code and ins.blocs_acquis)
        model, ids = (Bloc, ins.blocs_acquis) if blocs else (Competence, ins.competences_acquises)
        acquis = [{"code": x.code, "intitule": x.intitule} for x in (
            db.session.query(model).filter(model.id.in_(ids or [0])).order_by(model.ordre))]
        data = {"titulaire": titulaire_data(c.candidat), "certification": certification_data(cert),
                "jury": jury_data(jury), "acquis": acquis,
                "acquis_nature": "blocs" if blocs else "competences",
                "duree_acquis_mois": benefit_months(c)}
        items.append({"data": data, "candidature_id": c.id,
                      "template": "lettre_validation_partielle" if acquis else
                      "lettre_non_admission"})
    return items


def issue_jury_documents(p: Perimetre, jury: Jury, kind: str, emis_par=None) -> list:
    """The secretariat issues the PV, the attendance sheet, the certificates or the letters of a
    jury (documents_emis numbers, renders and stores them; the caller commits)."""
    from app.workflow import documents_emis as docs
    ensure_organiser(p, jury.dispositif_id)
    if kind not in KINDS:
        raise RuleViolation("Document inconnu.", "R-DOC-6")
    if kind == "pv":
        return [docs.issue_document("pv", jury.dispositif, pv_data(jury), jury_id=jury.id,
                                    emis_par=emis_par)]
    if kind == "emargement":
        return [docs.issue_document("emargement", jury.dispositif, emargement_data(jury),
                                    jury_id=jury.id, emis_par=emis_par)]
    items = certificate_items(jury) if kind == "certificat" else letter_items(jury)
    if not items:
        return []
    return docs.issue_many(kind, jury.dispositif, items, jury_id=jury.id, emis_par=emis_par)
