"""chat traces: every message in a private chat that /hide and /forget must delete

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_traces",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_chat_traces_key_at", "chat_traces", ["key", "at"])
    op.create_index("ix_chat_traces_at", "chat_traces", ["at"])


def downgrade() -> None:
    op.drop_index("ix_chat_traces_at", table_name="chat_traces")
    op.drop_index("ix_chat_traces_key_at", table_name="chat_traces")
    op.drop_table("chat_traces")
