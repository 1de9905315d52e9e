"""approbation_pv: the president without an account signs the PV on paper, recorded by the
secretariat (signature day, who recorded it); it issues the approved PV like his approval

Revision ID: f3a8c2d91b47
Revises: e7b3c1d9a402
Create Date: 2026-12-11 10:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = 'f3a8c2d91b47'
down_revision = 'e7b3c1d9a402'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('approbation_pv', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signe_sur_papier_le', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('enregistre_par_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('enregistre_par', sa.String(length=200), nullable=True))
        batch_op.create_foreign_key('fk_approbation_pv_enregistre_par_id_ab_user', 'ab_user',
                                    ['enregistre_par_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(
            'ck_approbation_pv_papier',
            "signe_sur_papier_le IS NULL OR (president AND enregistre_par IS NOT NULL)")


def downgrade():
    with op.batch_alter_table('approbation_pv', schema=None) as batch_op:
        batch_op.drop_constraint('ck_approbation_pv_papier', type_='check')
        batch_op.drop_constraint('fk_approbation_pv_enregistre_par_id_ab_user', type_='foreignkey')
        batch_op.drop_column('enregistre_par')
        batch_op.drop_column('enregistre_par_id')
        batch_op.drop_column('signe_sur_papier_le')
