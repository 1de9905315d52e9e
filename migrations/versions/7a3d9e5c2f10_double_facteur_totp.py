"""Second factor (TOTP) for secretariat, technical and réseau administrators: the encrypted
secret, single-use recovery codes, the per-role requirement and a log of changes

Revision ID: 7a3d9e5c2f10
Revises: 5e2b7c41a9d3
Create Date: 2026-12-03 13:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '7a3d9e5c2f10'
down_revision = '5e2b7c41a9d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'double_facteur',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('secret_chiffre', sa.String(length=255), nullable=False),
        sa.Column('active_le', sa.DateTime(), nullable=True),
        sa.Column('dernier_pas', sa.BigInteger(), nullable=True),
        sa.Column('created_on', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id'),
    )
    op.create_table(
        'code_secours',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('empreinte', sa.String(length=64), nullable=False),
        sa.Column('utilise_le', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('empreinte'),
    )
    with op.batch_alter_table('code_secours', schema=None) as batch_op:
        batch_op.create_index('ix_code_secours_user_id', ['user_id'], unique=False)
    op.create_table(
        'exigence_double_facteur',
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('obligatoire', sa.Boolean(), nullable=False),
        sa.Column('modifie_le', sa.DateTime(), nullable=False),
        sa.Column('modifie_par_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['modifie_par_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('role'),
    )
    op.create_table(
        'journal_double_facteur',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('par_id', sa.Integer(), nullable=True),
        sa.Column('evenement', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=True),
        sa.Column('le', sa.DateTime(), nullable=False),
        sa.CheckConstraint(
            "evenement IN ('activation', 'desactivation', 'codes_regeneres', "
            "'code_secours_utilise', 'reinitialisation', 'exigence')",
            name='ck_journal_double_facteur'),
        sa.ForeignKeyConstraint(['par_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('journal_double_facteur', schema=None) as batch_op:
        batch_op.create_index('ix_journal_double_facteur_user_id', ['user_id'], unique=False)


def downgrade():
    op.drop_table('journal_double_facteur')
    op.drop_table('exigence_double_facteur')
    with op.batch_alter_table('code_secours', schema=None) as batch_op:
        batch_op.drop_index('ix_code_secours_user_id')
    op.drop_table('code_secours')
    op.drop_table('double_facteur')
