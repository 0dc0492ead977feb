"""clients and directory

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 07:42:23.116685
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('clients',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('chat_ref', sa.LargeBinary(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=True),
    sa.Column('privacy_seen', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=True),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('awaiting', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clients')),
    sa.UniqueConstraint('key', name=op.f('uq_clients_key'))
    )
    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=False),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('phone', sa.String(length=100), nullable=True),
    sa.Column('website', sa.String(length=300), nullable=True),
    sa.Column('hours', sa.String(length=200), nullable=True),
    sa.Column('languages', sa.String(length=40), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=500), nullable=True),
    sa.Column('verified', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('slug', name=op.f('uq_services_slug'))
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_services_type'), ['type'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_type'))
        batch_op.drop_index(batch_op.f('ix_services_country'))

    op.drop_table('services')
    op.drop_table('clients')
