"""canned and rota

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 08:56:19.550838
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('canned_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('title', sa.String(length=60), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_answers'))
    )
    with op.batch_alter_table('canned_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_answers_language'), ['language'], unique=False)

    op.create_table('rota_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.SmallInteger(), nullable=False),
    sa.Column('start_minute', sa.SmallInteger(), nullable=False),
    sa.Column('end_minute', sa.SmallInteger(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_rota_slots_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rota_slots'))
    )
    with op.batch_alter_table('rota_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rota_slots_staff_id'), ['staff_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('rota_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rota_slots_staff_id'))

    op.drop_table('rota_slots')
    with op.batch_alter_table('canned_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_answers_language'))

    op.drop_table('canned_answers')
