"""employer sign-up confirmed by e-mail and approved (issue 14): profil.inscription and its dates

Revision ID: 5e1f0c7a9b21
Revises: 91c9391e9cae
Create Date: 2026-11-23 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5e1f0c7a9b21'
down_revision = '91c9391e9cae'
branch_labels = None
depends_on = None

STATES = "'email_a_confirmer', 'a_approuver', 'approuvee', 'refusee'"


def upgrade():
    # Existing accounts keep NULL: created by an administrator, nothing to approve.
    with op.batch_alter_table('profil', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inscription', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('email_confirme_le', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('inscription_decide_le', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('inscription_decide_par_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('inscription_motif', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key('fk_profil_inscription_decide_par_id_ab_user', 'ab_user',
                                    ['inscription_decide_par_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint('ck_profil_inscription', f"inscription IN ({STATES})")


def downgrade():
    with op.batch_alter_table('profil', schema=None) as batch_op:
        batch_op.drop_constraint('ck_profil_inscription', type_='check')
        batch_op.drop_constraint('fk_profil_inscription_decide_par_id_ab_user', type_='foreignkey')
        batch_op.drop_column('inscription_motif')
        batch_op.drop_column('inscription_decide_par_id')
        batch_op.drop_column('inscription_decide_le')
        batch_op.drop_column('email_confirme_le')
        batch_op.drop_column('inscription')
