"""import_fichier and import_ligne: bulk imports and the identity of each row they created
(issue 18)

Revision ID: a18c0b5e7d21
Revises: 7a3d9e5c2f10
Create Date: 2026-12-03 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = 'a18c0b5e7d21'
down_revision = '7a3d9e5c2f10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'import_fichier',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('dispositif_id', sa.Integer(), nullable=True),
        sa.Column('nom_fichier', sa.String(length=255), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('contenu', sa.LargeBinary(), nullable=False),
        sa.Column('mapping', sa.JSON(), nullable=False),
        sa.Column('resultats', sa.JSON(), nullable=True),
        sa.Column('statut', sa.String(length=12), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('valides', sa.Integer(), nullable=False),
        sa.Column('erreurs', sa.Integer(), nullable=False),
        sa.Column('deja_importees', sa.Integer(), nullable=False),
        sa.Column('creees', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_on', sa.DateTime(), nullable=False),
        sa.Column('finished_on', sa.DateTime(), nullable=True),
        sa.CheckConstraint("statut IN ('verification', 'apercu', 'en_attente', 'en_cours', 'terminee', 'echec', "
                           "'abandonnee')", name='ck_import_fichier_statut'),
        sa.CheckConstraint("kind IN ('candidats', 'etablissements', 'evaluateurs')",
                           name='ck_import_fichier_kind'),
        sa.ForeignKeyConstraint(['created_by_id'], ['ab_user.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['dispositif_id'], ['dispositif.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('import_fichier', schema=None) as batch_op:
        batch_op.create_index('ix_import_fichier_created_by_id', ['created_by_id'], unique=False)
        batch_op.create_index('ix_import_fichier_dispositif_id', ['dispositif_id'], unique=False)
        batch_op.create_index('ix_import_fichier_sha256', ['sha256'], unique=False)
    op.create_table(
        'import_ligne',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('import_id', sa.Integer(), nullable=False),
        sa.Column('numero', sa.Integer(), nullable=False),
        sa.Column('cle', sa.String(length=64), nullable=False),
        sa.Column('candidature_id', sa.Integer(), nullable=True),
        sa.Column('objet', sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(['candidature_id'], ['candidature.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['import_id'], ['import_fichier.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('cle'),
    )
    with op.batch_alter_table('import_ligne', schema=None) as batch_op:
        batch_op.create_index('ix_import_ligne_candidature_id', ['candidature_id'], unique=False)
        batch_op.create_index('ix_import_ligne_import_id', ['import_id'], unique=False)


def downgrade():
    op.drop_table('import_ligne')
    op.drop_table('import_fichier')
