"""document numbers unique across the platform, one valid original per thing issued

R-DOC-4: each dispositif numbers its certificates with its own prefix (dispositif.prefixe_numero:
MC for the metallurgy, CQP for the chemical industries, CLEA for CléA); the other documents are
<PV|EM|GTP|LD>-<prefix><year><digits>. `numero` becomes unique across the platform
(uq_document_numero_plateforme replaces uq_document_numero, which was per dispositif and type).
A document's `cle_original` says what it is the original of; a partial unique index keeps one
valid original per key (issuing twice issues nothing new). dispositif.lettre_gtp says which
dispositifs send the letter to the GTP (R-DOC-3).

Existing numbers are never changed (they are printed on paper). If two documents already share a
number, or one thing already has two valid originals, the migration stops with the list and
changes nothing: which holder keeps a number is a decision for the certifier, not for a script
(revoke the extra originals from « Documents émis » and run the upgrade again; two documents
sharing a number must be settled by the certifier before the upgrade).

Revision ID: 2bcf83d2ddd9
Revises: 5e1f0c7a9b21
Create Date: 2026-11-28 10:00:00
"""
import re

import sqlalchemy as sa
from alembic import op

revision = '2bcf83d2ddd9'
down_revision = '5e1f0c7a9b21'
branch_labels = None
depends_on = None

# Seeded values of the three dispositifs (app/seed_data/load.py); any other gets the letters of
# its code.
KNOWN = {"METALLURGIE": ("MC", True), "CHIMIE": ("CQP", False), "CLEA": ("CLEA", False)}
RESERVED = {"PV", "EM", "GTP", "LD"}
VALIDE = sa.text("statut = 'valide'")
HEAD = re.compile(r"^([A-Z]+(?:-[A-Z]+)?\d{4})(\d{6})$")

document = sa.table(
    "document_emis", sa.column("id", sa.Integer), sa.column("type", sa.String),
    sa.column("modele", sa.String), sa.column("numero", sa.String),
    sa.column("statut", sa.String), sa.column("duplicata", sa.Boolean),
    sa.column("candidature_id", sa.Integer), sa.column("jury_id", sa.Integer),
    sa.column("donnees", sa.JSON), sa.column("cle_original", sa.String))
sequence = sa.table("numero_sequence", sa.column("cle", sa.String), sa.column("dernier", sa.Integer))


def _refuse(title: str, lines: list[str]):
    shown = "\n  ".join(lines[:30]) + ("\n  …" if len(lines) > 30 else "")
    raise RuntimeError(f"{title}\n  {shown}\nAucune modification n'a été faite.")


def _key(row) -> str | None:
    """documents_emis.original_key, frozen here."""
    if row.type == "certificat" and row.candidature_id:
        data = row.donnees or {}
        cert, bloc = data.get("certification") or {}, data.get("bloc") or {}
        return (f"certificat:{row.candidature_id}:{row.modele}:{cert.get('code', '')}:"
                f"{bloc.get('code', '')}")[:200]
    if row.type == "lettre_decision" and row.candidature_id and row.jury_id:
        return f"lettre_decision:{row.candidature_id}:{row.jury_id}"
    if row.type in ("pv", "emargement", "lettre_gtp") and row.jury_id:
        return f"{row.type}:{row.jury_id}"
    return None


def _prefixes(conn) -> dict[int, tuple[str, bool]]:
    chosen, taken = {}, set()
    for id_, code in conn.execute(sa.text("SELECT id, code FROM dispositif ORDER BY id")):
        prefix, gtp = KNOWN.get(code, ("", False))
        prefix = prefix or ("".join(ch for ch in code.upper() if "A" <= ch <= "Z")[:8] or "D")
        base, n = prefix, 0
        while prefix in taken or prefix in RESERVED or len(prefix) < 2:
            n += 1
            prefix = (base[:7] + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[n % 26])[:8]
        taken.add(prefix)
        chosen[id_] = (prefix, gtp)
    return chosen


def upgrade():
    conn = op.get_bind()
    shared = conn.execute(sa.text(
        "SELECT numero, count(*) FROM document_emis GROUP BY numero HAVING count(*) > 1 "
        "ORDER BY numero")).fetchall()
    if shared:
        _refuse("Des documents émis partagent un même numéro : un numéro imprimé ne se change "
                "pas, le certificateur doit décider avant la mise à jour.",
                [f"{numero} ({n} documents)" for numero, n in shared])
    rows = conn.execute(sa.select(
        document.c.id, document.c.type, document.c.modele, document.c.numero, document.c.statut,
        document.c.candidature_id, document.c.jury_id,
        sa.case((document.c.type == "certificat", document.c.donnees), else_=None).label("donnees"),
    ).where(document.c.duplicata.is_(False),
            sa.or_(document.c.candidature_id.isnot(None), document.c.jury_id.isnot(None)))
    ).fetchall()
    keys, valid = {}, {}
    for row in rows:
        key = _key(row)
        if key:
            keys[row.id] = key
            if row.statut == "valide":
                valid.setdefault(key, []).append(row.numero)
    twice = {k: v for k, v in valid.items() if len(v) > 1}
    if twice:
        _refuse("Des originaux valides existent en double (même dossier, même certification ; "
                "ou même jury) : révoquez ceux en trop depuis « Documents émis », puis relancez "
                "la mise à jour.", [" et ".join(v) for v in twice.values()])

    with op.batch_alter_table("dispositif", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prefixe_numero", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("lettre_gtp", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    for id_, (prefix, gtp) in _prefixes(conn).items():
        conn.execute(sa.text("UPDATE dispositif SET prefixe_numero = :p, lettre_gtp = :g "
                             "WHERE id = :i"), {"p": prefix, "g": gtp, "i": id_})
    with op.batch_alter_table("dispositif", schema=None) as batch_op:
        batch_op.alter_column("prefixe_numero", existing_type=sa.String(length=8), nullable=False)
        batch_op.create_unique_constraint("uq_dispositif_prefixe_numero", ["prefixe_numero"])

    with op.batch_alter_table("document_emis", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cle_original", sa.String(length=200), nullable=True))
        batch_op.drop_constraint("uq_document_numero", type_="unique")
        batch_op.create_unique_constraint("uq_document_numero_plateforme", ["numero"])
    for id_, key in keys.items():
        conn.execute(document.update().where(document.c.id == id_).values(cle_original=key))
    op.create_index("uq_document_original", "document_emis", ["cle_original"], unique=True,
                    postgresql_where=VALIDE, sqlite_where=VALIDE)

    # New numbers continue after the existing ones of the same head (MC2026…, whatever the
    # dispositif that issued them): one counter per head from now on.
    last: dict[str, int] = {}
    for (numero,) in conn.execute(sa.text("SELECT numero FROM document_emis")):
        match = HEAD.match(numero or "")
        if match:
            head, n = match.group(1), int(match.group(2))
            last[head] = max(last.get(head, 0), n)
    for head, n in last.items():
        cle = f"num:{head}"
        current = conn.execute(sa.select(sequence.c.dernier).where(sequence.c.cle == cle)).scalar()
        if current is None:
            conn.execute(sequence.insert().values(cle=cle, dernier=n))
        elif current < n:
            conn.execute(sequence.update().where(sequence.c.cle == cle).values(dernier=n))


def downgrade():
    op.drop_index("uq_document_original", table_name="document_emis",
                  postgresql_where=VALIDE, sqlite_where=VALIDE)
    with op.batch_alter_table("document_emis", schema=None) as batch_op:
        batch_op.drop_constraint("uq_document_numero_plateforme", type_="unique")
        batch_op.create_unique_constraint("uq_document_numero", ["dispositif_id", "type", "numero"])
        batch_op.drop_column("cle_original")
    with op.batch_alter_table("dispositif", schema=None) as batch_op:
        batch_op.drop_constraint("uq_dispositif_prefixe_numero", type_="unique")
        batch_op.drop_column("lettre_gtp")
        batch_op.drop_column("prefixe_numero")
