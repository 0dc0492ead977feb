"""queue index with the id: a take walks it in order instead of sorting the waiting rows

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 21:50:00
"""

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_queue")
        batch_op.create_index(
            "ix_conversations_queue", ["status", "urgent", "created_at", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_queue")
        batch_op.create_index(
            "ix_conversations_queue", ["status", "urgent", "created_at"], unique=False
        )
