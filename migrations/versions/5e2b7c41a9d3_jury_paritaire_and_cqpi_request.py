"""dispositif.jury_paritaire (R-JUR-5 where the dispositif says so), candidature.cqpi_demande
(R-REF-2: CQPI by equivalence asked in the dossier) and the chemical CQP -> CQPI equivalences

Revision ID: 5e2b7c41a9d3
Revises: 2bcf83d2ddd9
Create Date: 2026-11-23 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2b7c41a9d3'
down_revision = '2bcf83d2ddd9'
branch_labels = None
depends_on = None

# Frozen copy of app/seed_data/referentiels.py CQPI[*]["cqp_equivalents"] (chemical dispositif).
EQUIVALENCES = {
    "CQPI-01": ("CQP-CHIMIE-02", "CQP-CHIMIE-05"),
    "CQPI-02": ("CQP-CHIMIE-11",),
    "CQPI-03": ("CQP-CHIMIE-10",),
    "CQPI-04": ("CQP-CHIMIE-08",),
    "CQPI-07": ("CQP-CHIMIE-04", "CQP-CHIMIE-07", "CQP-CHIMIE-09", "CQP-CHIMIE-12"),
    "CQPI-10": ("CQP-CHIMIE-14",),
}


def upgrade():
    with op.batch_alter_table('dispositif', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jury_paritaire', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))
    with op.batch_alter_table('candidature', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cqpi_demande', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # CléA juries are regional juries of the certificateur, not paritaire juries (seed 003).
    op.execute("UPDATE dispositif SET jury_paritaire = false WHERE code = 'CLEA'")
    for cqpi, cqps in EQUIVALENCES.items():
        for cqp in cqps:
            op.execute(sa.text("""
INSERT INTO certification_equivalence (cqpi_id, cqp_id)
SELECT i.id, q.id FROM certification i
JOIN dispositif d ON d.id = i.dispositif_id AND d.code = 'CHIMIE'
JOIN certification q ON q.dispositif_id = d.id AND q.code = :cqp
WHERE i.code = :cqpi AND NOT EXISTS (
  SELECT 1 FROM certification_equivalence e WHERE e.cqpi_id = i.id AND e.cqp_id = q.id)
""").bindparams(cqpi=cqpi, cqp=cqp))


def downgrade():
    with op.batch_alter_table('candidature', schema=None) as batch_op:
        batch_op.drop_column('cqpi_demande')
    with op.batch_alter_table('dispositif', schema=None) as batch_op:
        batch_op.drop_column('jury_paritaire')
