"""approbation_pv and dispositif.pv_signature_papier: the jury approves its PV in the platform
(issue 19 item 3)

Revision ID: c4e8a2f19b57
Revises: a18c0b5e7d21
Create Date: 2026-12-03 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4e8a2f19b57'
down_revision = 'a18c0b5e7d21'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dispositif', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pv_signature_papier', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'approbation_pv',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('jury_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('membre_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('nom', sa.String(length=200), nullable=False),
        sa.Column('qualite', sa.String(length=200), nullable=False),
        sa.Column('president', sa.Boolean(), nullable=False),
        sa.Column('second_facteur', sa.String(length=10), nullable=True),
        sa.Column('approuve_le', sa.DateTime(), nullable=False),
        sa.Column('pv_emis_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("second_facteur IN ('totp', 'secours')",
                           name='ck_approbation_pv_second_facteur'),
        sa.CheckConstraint('pv_emis_id IS NULL OR president', name='ck_approbation_pv_emis'),
        sa.ForeignKeyConstraint(['document_id'], ['document_emis.id']),
        sa.ForeignKeyConstraint(['jury_id'], ['jury.id']),
        sa.ForeignKeyConstraint(['membre_id'], ['jury_membre.id']),
        sa.ForeignKeyConstraint(['pv_emis_id'], ['document_emis.id']),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('document_id', 'membre_id', name='uq_approbation_pv_membre'),
        sa.UniqueConstraint('pv_emis_id'),
    )
    with op.batch_alter_table('approbation_pv', schema=None) as batch_op:
        batch_op.create_index('ix_approbation_pv_user', ['user_id', 'document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_approbation_pv_jury_id'), ['jury_id'], unique=False)


def downgrade():
    with op.batch_alter_table('approbation_pv', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_approbation_pv_jury_id'))
        batch_op.drop_index('ix_approbation_pv_user')
    op.drop_table('approbation_pv')
    with op.batch_alter_table('dispositif', schema=None) as batch_op:
        batch_op.drop_column('pv_signature_papier')
