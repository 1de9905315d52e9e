"""What a jury's decision grants beyond its dossier: how long acquired competences are kept and
their reuse by a new dossier (R-DEC-2), the CQPI given with a CQPM or by equivalence (R-DEC-3,
R-REF-2), the passerelles a holder is told of (R-DEC-5). Read by the deliberation, the
evaluation grid and the dossier's fiche; it only reads rows."""
from datetime import date as date_type

import sqlalchemy as sa

from app.extensions import db
from app.models import Certification
from app.models.base import today
from app.models.candidature import Candidature, cle
from app.models.jury import AcquisCompetence
from app.models.referentiel import certification_equivalence


def benefit_months(c: Candidature) -> int | None:
    """R-DEC-2 (R-DIS table): how long acquired competences are kept; None = permanently (unless
    the referential changes). Chimie parcours 2 and 3 keep them permanently; a certification in
    the RNCP may have its own duration (metallurgy: 5 years instead of 24 months)."""
    d = c.dispositif
    if d.structure_evaluation == "competences" and c.parcours in ("2", "3"):
        return None
    if c.certification.rncp_code and d.duree_acquis_rncp_mois:
        return d.duree_acquis_rncp_mois
    return d.duree_acquis_mois


def cqpi_of(cert: Certification) -> Certification | None:
    """R-DEC-3: the CQPI a CQPM gives when it is on the CQPI list (R-REF-4 suffix « I »)."""
    if cert.type != "CQPM":
        return None
    linked = sa.select(certification_equivalence.c.cqpi_id).where(
        certification_equivalence.c.cqp_id == cert.id)
    return (db.session.query(Certification)
            .filter(Certification.type == "CQPI", Certification.dispositif_id == cert.dispositif_id,
                    sa.or_(Certification.id.in_(linked),
                           Certification.code == f"{cert.code} (CQPI)"))
            .order_by(Certification.id).first())


def cqpi_by_equivalence(cert: Certification) -> list[Certification]:
    """R-REF-2 (seed 001): the CQPI the branch joined that are delivered on request with this CQP,
    by equivalence (the référentiel's « CQP donnant l'équivalence »)."""
    if cert.type != "CQP":
        return []
    linked = sa.select(certification_equivalence.c.cqpi_id).where(
        certification_equivalence.c.cqp_id == cert.id)
    return (db.session.query(Certification)
            .filter(Certification.id.in_(linked), Certification.type == "CQPI",
                    Certification.obtention == "equivalence",
                    Certification.membre_branche.is_(True))
            .order_by(Certification.code).all())


def cqps_giving_a_cqpi(cert_ids) -> set:
    """Which of these certifications are CQPs that give a CQPI by equivalence (cqpi_by_equivalence
    not empty), in one query: the creation form shows the request box for them only."""
    cqpi = sa.orm.aliased(Certification)
    rows = db.session.query(certification_equivalence.c.cqp_id).join(
        cqpi, cqpi.id == certification_equivalence.c.cqpi_id).join(
        Certification, Certification.id == certification_equivalence.c.cqp_id).filter(
        certification_equivalence.c.cqp_id.in_(list(cert_ids) or [0]),
        Certification.type == "CQP", cqpi.type == "CQPI", cqpi.obtention == "equivalence",
        cqpi.membre_branche.is_(True))
    return {cid for (cid,) in rows}


def offers_cqpi_request(dispositif) -> bool:
    """Whether a dossier of this dispositif may ask for a CQPI by equivalence (chemical CQP)."""
    cqp = sa.orm.aliased(Certification)
    return db.session.query(sa.exists().where(
        certification_equivalence.c.cqp_id == cqp.id, cqp.dispositif_id == dispositif.id,
        cqp.type == "CQP")).scalar()


def passerelles_info(c: Candidature) -> list[str]:
    """R-DEC-5: what a holder of this certification is told when the parchment is handed over."""
    out = []
    for p in c.certification.passerelles:
        nature = "totale" if p.nature == "totale" else "partielle"
        out.append(f"Passerelle ({nature}) vers « {p.certification_autre} » — {p.autre_branche} : "
                   f"vous pouvez demander cette certification au secrétariat de l'autre branche, "
                   f"avec la copie du parchemin de votre {c.certification.type}.")
    return out


def acquis_valides(c: Candidature, on: date_type | None = None) -> dict:
    """R-DEC-2: competences a jury declared acquired for this candidate in this dispositif (other
    dossiers), still within their benefit: {competence code (same certification) or normalised
    title: source}. The evaluation of a new dossier starts with them."""
    if c.candidat_id is None:
        return {}
    day = on or today()
    rows = (db.session.query(AcquisCompetence).join(Certification,
                                                    Certification.id == AcquisCompetence.certification_id)
            .filter(AcquisCompetence.candidat_id == c.candidat_id,
                    Certification.dispositif_id == c.dispositif_id,
                    AcquisCompetence.candidature_id != (c.id or 0),
                    sa.or_(AcquisCompetence.valable_jusqu_au.is_(None),
                           AcquisCompetence.valable_jusqu_au >= day))
            .order_by(AcquisCompetence.date_jury.desc()).all())
    found = {}
    for a in rows:
        until = f", jusqu'au {a.valable_jusqu_au:%d/%m/%Y}" if a.valable_jusqu_au else ""
        source = f"Acquis au jury du {a.date_jury:%d/%m/%Y} ({a.certification.code}{until})"
        if a.certification_id == c.certification_id:
            found.setdefault((a.competence.code or "").upper(), source)
        found.setdefault(cle(a.competence.intitule), source)
    return found
