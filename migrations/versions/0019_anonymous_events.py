"""anonymous events, per-day counters and per-period reach marks (issue 13)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 23:59:00
"""

import sqlalchemy as sa
from alembic import op

from bot.dbtypes import Id

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _text(name: str, length: int) -> sa.Column:
    return sa.Column(name, sa.String(length), server_default="", nullable=False)


def upgrade() -> None:
    op.create_table(
        "anon_events",
        sa.Column("id", Id, autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        _text("country", 8),
        _text("language", 2),
        _text("topic", 24),
        _text("outcome", 32),
        _text("detail", 24),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("staff_id", Id, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_anon_events")),
    )
    op.create_index("ix_anon_events_kind_day", "anon_events", ["kind", "day"], unique=False)
    op.create_table(
        "daily_counts",
        sa.Column("id", Id, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        _text("key", 32),
        _text("country", 8),
        _text("language", 2),
        sa.Column("count", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_counts")),
        sa.UniqueConstraint(
            "day", "kind", "key", "country", "language", name=op.f("uq_daily_counts_day")
        ),
    )
    op.create_index(op.f("ix_daily_counts_day"), "daily_counts", ["day"], unique=False)
    op.create_table(
        "reach_salts",
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("salt", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("period", name=op.f("pk_reach_salts")),
    )
    op.create_table(
        "reach_marks",
        sa.Column("id", Id, nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        sa.Column("mark", sa.String(64), nullable=False),
        _text("country", 8),
        _text("language", 2),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reach_marks")),
        sa.UniqueConstraint("period", "mark", name=op.f("uq_reach_marks_period")),
    )
    op.create_table(
        "reach_counts",
        sa.Column("id", Id, nullable=False),
        sa.Column("period", sa.String(8), nullable=False),
        _text("country", 8),
        _text("language", 2),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reach_counts")),
        sa.UniqueConstraint("period", "country", "language", name=op.f("uq_reach_counts_period")),
    )


def downgrade() -> None:
    op.drop_table("reach_counts")
    op.drop_table("reach_marks")
    op.drop_table("reach_salts")
    op.drop_index(op.f("ix_daily_counts_day"), table_name="daily_counts")
    op.drop_table("daily_counts")
    op.drop_index("ix_anon_events_kind_day", table_name="anon_events")
    op.drop_table("anon_events")
