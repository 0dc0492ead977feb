"""forum topics

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 09:11:52.593625
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('forum_topic_id', sa.BigInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversations_forum_topic_id'), ['forum_topic_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_forum_topic_id'))
        batch_op.drop_column('forum_topic_id')

