"""dispositif.modele_pv and dispositif.signataire_certificats: one PV model per dispositif, and
the certifier's signatory named on the certificates (issue 16)

Revision ID: e7b3d0c5a912
Revises: c4e8a2f19b57
Create Date: 2026-12-05 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'e7b3d0c5a912'
down_revision = 'c4e8a2f19b57'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dispositif', schema=None) as batch_op:
        batch_op.add_column(sa.Column('modele_pv', sa.String(length=20), nullable=False,
                                      server_default='metallurgie'))
        batch_op.add_column(sa.Column('signataire_certificats', sa.String(length=150),
                                      nullable=True))
        batch_op.create_check_constraint(
            'ck_dispositif_modele_pv', "modele_pv IN ('metallurgie', 'chimie', 'clea')")
    # The dispositifs already there get the model of their decision vocabulary: the chemical
    # industries' Validé / Partiel / Non validé, CléA's Certifiée / Non certifiée.
    op.execute("UPDATE dispositif SET modele_pv = 'chimie' WHERE vocabulaire_decision = 'valide_partiel'")
    op.execute("UPDATE dispositif SET modele_pv = 'clea' WHERE vocabulaire_decision = 'certifie'")


def downgrade():
    with op.batch_alter_table('dispositif', schema=None) as batch_op:
        batch_op.drop_constraint('ck_dispositif_modele_pv', type_='check')
        batch_op.drop_column('signataire_certificats')
        batch_op.drop_column('modele_pv')
