"""an index on conversations.taken_at: a /metrics scrape reads the last day's takes without
scanning every conversation

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 04:55:00
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_conversations_taken_at", "conversations", ["taken_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_conversations_taken_at", table_name="conversations")
