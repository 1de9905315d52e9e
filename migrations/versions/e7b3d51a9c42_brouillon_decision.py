"""brouillon_decision: the deliberation form saved while a juror types (issue 16 item 1)

Revision ID: e7b3d51a9c42
Revises: e7b3d0c5a912
Create Date: 2026-12-10 10:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'e7b3d51a9c42'
down_revision = 'e7b3d0c5a912'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'brouillon_decision',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('inscription_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('decision', sa.String(length=20), nullable=True),
        sa.Column('competences_acquises', sa.JSON(), nullable=True),
        sa.Column('commentaire', sa.Text(), nullable=True),
        sa.Column('enregistre_le', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['inscription_id'], ['inscription_jury.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('inscription_id', 'user_id', name='uq_brouillon_decision'),
    )


def downgrade():
    op.drop_table('brouillon_decision')
