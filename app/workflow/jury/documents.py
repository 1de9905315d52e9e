"""What a jury hands to the documents feature (DOMAIN.md §10): the data of its PV (R-DOC-1),
attendance sheet (R-DOC-2), certificates of the attributions (R-DOC-4, R-DEC-3) and decision
letters (R-DEC-4), in the shapes app/workflow/issued/data.py documents. Numbering, rendering
and storing are documents_emis's: issue_jury_documents() only builds the dicts and calls it.
"""
from dataclasses import dataclass, field

import sqlalchemy as sa

from app.errors import RuleViolation
from app.extensions import db
from app.models.candidature import Candidat, Candidature
from app.models.jury import AttributionCertification, InscriptionJury, Jury
from app.models.statuts import SUCCESS
from app.reports.pv_models import modele_pv
from app.security.perimeter import Perimetre
from app.workflow.issued import documents as issued
from app.workflow.issued.data import MODELES, certificate_template, jury_pieces
from app.workflow.jury.acquis import benefit_months
from app.workflow.jury.deliberation import decision_rows
from app.workflow.jury.sessions import ensure_organiser

KINDS = ("pv", "emargement", "certificat", "lettre_decision", "lettre_gtp")
JURY_KINDS = ("pv", "emargement", "lettre_gtp")  # one per jury; the others one per dossier


def jury_data(jury: Jury) -> dict:
    # convoque / paritaire: the attendance sheet speaks of « membres convoqués » and of a « jury
    # paritaire » only for a jury whose members were convened and that seats a union.
    from app.workflow.engine import workflow_for
    return {"date": jury.date, "lieu": jury.lieu or jury.modalite_label,
            # how the dispositif names its jury in letters (« jury paritaire national »…)
            "nom": workflow_for(jury.dispositif).jury,
            "president": jury.president, "qualite_president": jury.qualite_president,
            "convoque": jury.convoque_le is not None,
            "paritaire": any(m.college == "salaries" for m in jury.membres)}


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
            "civilite": person.civilite, "civilite_label": person.civilite_label,
            "adresse_lignes": lines}


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
    """R-DOC-1: one section per certification, each row holding what every PV model may print
    (app/reports/pv_models.py); the dispositif's model says which columns show and how the
    decision reads (A / NA for the metallurgy, the dispositif's word otherwise)."""
    modele = modele_pv(jury.dispositif.modele_pv)
    labels = dict(jury.dispositif.decisions)
    sections: dict[int, dict] = {}
    for ins in _published(jury):
        c: Candidature = ins.candidature
        person, ent = c.candidat, c.entreprise
        origine = c.origine or ("DE" if c.statut_inscription == "demandeur_emploi" else "SL")
        evaluateur = c.evaluateur
        row = {**{k: titulaire_data(person)[k] for k in ("prenom", "date_naissance",
                                                         "ville_naissance", "departement_naissance",
                                                         "pays_naissance")},
               "nom": person.nom_naissance, "origine": origine, "financement": c.financement or "",
               "raison_sociale": ent.raison_sociale if ent else "",
               "adresse_entreprise": " ".join(x for x in (ent.adresse, ent.code_postal, ent.ville)
                                              if x) if ent else "",
               "code_nace": ent.naf if ent else "", "secteur": ent.secteur if ent else "",
               "branche": ent.branche if ent else "",
               "decision": modele.decision(ins.decision in SUCCESS,
                                           labels.get(ins.decision, ins.decision or "")),
               # (6) of Annexe 14: « CPF en cas d'abondement ».
               "commentaire": "CPF" if (c.financement or "").startswith("CPF") else "",
               # The chemical and CléA PVs print the jury's own comment on the dossier.
               "commentaire_jury": ins.commentaire or "",
               # The chemical industries' PV (seeds 000/001) and CléA's (seed 003).
               "numero": c.numero, "parcours": c.parcours or ("VAE" if c.vae else ""),
               "evaluateur": (f"{evaluateur.first_name} {evaluateur.last_name}".strip()
                              if evaluateur is not None else ""),
               "competences": (f"{len(ins.competences_acquises or [])} / "
                               f"{len(c.certification.competences)}"
                               if c.certification.competences else ""),
               "etablissement": c.etablissement.nom if c.etablissement else "",
               "socle": (f"Contextualisé ({c.branche_delegataire})" if c.socle_contextualise
                         and c.branche_delegataire else
                         "Contextualisé" if c.socle_contextualise else "Standard")}
        section = sections.setdefault(c.certification_id, {
            "certification": {"code": c.certification.code,
                              "intitule": c.certification.intitule}, "candidats": []})
        section["candidats"].append(row)
    if not sections:
        raise RuleViolation("Aucune décision publiée pour ce jury.", "R-DOC-1")
    # Issue 19 item 3: approved by the jury in the platform (no handwriting room on the draft)
    # unless the dispositif keeps the paper signature; frozen so the PV renders the same again.
    return {"jury": jury_data(jury), "sections": list(sections.values()),
            "modele_pv": modele.code,
            "approbation_plateforme": not jury.dispositif.pv_signature_papier}


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
            # A union member sits for the union that designated him, not for his employer.
            organisation = (m.syndicat if m.college == "salaries" and m.syndicat
                            else m.organisation or m.syndicat or "")
            membres.append({"nom": nom, "prenom": prenom, "qualite": m.qualite or m.college_label,
                            "organisation": organisation})
        elif not any(o.designe and o.syndicat == m.syndicat for o in jury.membres):
            membres.append({"organisation": m.syndicat})
    return {"jury": jury_data(jury), "organisateur": jury.certificateur,
            "certifications": list(counts.values()), "membres": membres}


def certificate_items(jury: Jury) -> list[dict]:
    """R-DOC-4 / R-DEC-3: one certificate per attribution of the jury (certification, CQPI, bloc),
    with the passerelles of a chemical CQP (R-DEC-5) and the domains of CléA."""
    ids = [i.id for i in _published(jury)]
    # The dossiers and their holders in one statement each, not one per certificate (issue 17:
    # 2 515 statements for a jury of 500 before).
    rows = (db.session.query(AttributionCertification)
            .options(sa.orm.selectinload(AttributionCertification.candidature)
                     .selectinload(Candidature.candidat))
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
        if ins.decision in SUCCESS:
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


def gtp_data(jury: Jury) -> dict:
    """R-DOC-3 (Annexe 12): the letter to the GTP « Certifications » lists the certifications of
    the jury and the numbers of its PV and attendance sheets, which must be issued first."""
    if not jury.dispositif.lettre_gtp:
        raise RuleViolation("Ce dispositif n'adresse pas de lettre au GTP « Certifications ».",
                            "R-DOC-3")
    certifications = {}
    for ins in _published(jury):
        cert = ins.candidature.certification
        certifications.setdefault(cert.id, {"code": cert.code, "intitule": cert.intitule})
    pieces = jury_pieces(jury.dispositif_id, jury.id)
    if not pieces["pv"] or not pieces["emargements"]:
        raise RuleViolation("Émettez d'abord le procès-verbal et la feuille d'émargement du jury : "
                            "la lettre au GTP les accompagne.", "R-DOC-3")
    return {"jury": jury_data(jury), "certifications": list(certifications.values()),
            "pieces": pieces}


@dataclass
class Emission:
    """What one « Émettre » did: the documents issued now, and how many already had their valid
    original (issued nothing new for them)."""
    emis: list = field(default_factory=list)
    existants: int = 0

    def message(self, kind: str) -> str:
        from app.models.document import TYPES_DOCUMENT
        # « lettre au GTP Certifications »: only the first letter is lowered (a proper name stays)
        full = TYPES_DOCUMENT.label(kind)
        label = full[:1].lower() + full[1:]
        if not self.emis and not self.existants:
            return f"Aucun document à émettre ({label})."
        text = f"{len(self.emis)} document(s) émis ({label})"
        if self.existants:
            text += f" ; {self.existants} déjà émis auparavant, non réémis (un duplicata " \
                    "s'obtient depuis le document)"
        return text + "."


def _items(jury: Jury, kind: str) -> list[dict]:
    if kind == "pv":
        return [{"data": pv_data(jury)}]
    if kind == "emargement":
        return [{"data": emargement_data(jury)}]
    if kind == "lettre_gtp":
        return [{"data": gtp_data(jury)}]
    return certificate_items(jury) if kind == "certificat" else letter_items(jury)


def issue_jury_documents(p: Perimetre, jury: Jury, kind: str, emis_par=None) -> Emission:
    """The secretariat issues the PV, the attendance sheet, the letter to the GTP, the
    certificates or the letters of a jury (documents_emis numbers, renders and stores them; the
    caller commits). Idempotent: what already has its valid original is not issued again, even
    when two clicks or two workers issue at once — the jury row is locked (PostgreSQL) while the
    originals are looked up and issued, and the unique index uq_document_original backs it."""
    ensure_organiser(p, jury.dispositif_id)
    if kind not in KINDS:
        raise RuleViolation("Document inconnu.", "R-DOC-6")
    db.session.execute(sa.select(Jury.id).where(Jury.id == jury.id).with_for_update())
    if kind in JURY_KINDS:
        key = issued.original_key(kind, MODELES[kind][0], {}, jury_id=jury.id)
        if issued.existing_originals([key]):
            return Emission(existants=1)
    items = _items(jury, kind)
    if kind not in JURY_KINDS:
        keyed = [(issued.original_key(kind, it["template"], it["data"], it["candidature_id"],
                                    jury.id), it) for it in items]
        done = issued.existing_originals(k for k, _ in keyed)
        items = [it for k, it in keyed if k not in done]
        existants = len(keyed) - len(items)
    else:
        existants = 0
    emission = Emission(issued.issue_many(kind, jury.dispositif, items, jury_id=jury.id,
                                          emis_par=emis_par), existants)
    if kind == "pv" and emission.emis:
        from app.workflow.jury.approval import announce
        announce(jury)  # issue 19 item 3: the members approve the PV from their account
    return emission
