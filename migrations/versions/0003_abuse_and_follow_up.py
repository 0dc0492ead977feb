"""abuse and follow-up

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 08:38:16.453039
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.LargeBinary(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_blocks_client_id_clients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_blocks_staff_id_staff'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocks'))
    )
    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocks_client_id'), ['client_id'], unique=False)

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flood_window_start', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('flood_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('no_follow_up', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcome_detail', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('wanted_role', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('follow_up_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('follow_up_answer', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversations_follow_up_at'), ['follow_up_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_follow_up_at'))
        batch_op.drop_column('follow_up_answer')
        batch_op.drop_column('follow_up_at')
        batch_op.drop_column('wanted_role')
        batch_op.drop_column('outcome_detail')

    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('no_follow_up')
        batch_op.drop_column('flood_count')
        batch_op.drop_column('flood_window_start')

    with op.batch_alter_table('blocks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocks_client_id'))

    op.drop_table('blocks')
