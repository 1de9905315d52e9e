"""entreprise_dispositif and ix_candidature_createur: the creation form offers an employer its
company's dispositifs and preselects what its user last chose (issue 16 item 7)

Revision ID: e7b3c1d9a402
Revises: e7b3d51a9c42
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'e7b3c1d9a402'
down_revision = 'e7b3d51a9c42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'entreprise_dispositif',
        sa.Column('entreprise_id', sa.Integer(), nullable=False),
        sa.Column('dispositif_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['entreprise_id'], ['entreprise.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['dispositif_id'], ['dispositif.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('entreprise_id', 'dispositif_id'),
    )
    with op.batch_alter_table('candidature', schema=None) as batch_op:
        batch_op.create_index('ix_candidature_createur', ['createur_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('candidature', schema=None) as batch_op:
        batch_op.drop_index('ix_candidature_createur')
    op.drop_table('entreprise_dispositif')
