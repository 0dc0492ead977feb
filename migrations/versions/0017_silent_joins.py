"""silent joins and care for consultants: supervisors reading along, shift and break times,
the debrief after an urgent conversation

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "silent_joins",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("conversation_id", ID, nullable=False),
        sa.Column("staff_id", ID, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_silent_joins_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_silent_joins_staff_id_staff"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silent_joins")),
        sa.UniqueConstraint("conversation_id", "staff_id", name=op.f("uq_silent_joins_conversation_id")),
    )
    with op.batch_alter_table("silent_joins") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_silent_joins_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_silent_joins_staff_id"), ["staff_id"], unique=False)
    with op.batch_alter_table("staff") as batch_op:
        batch_op.add_column(sa.Column("on_duty_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("duty_reminded_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("break_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("debrief_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("debrief_at")
    with op.batch_alter_table("staff") as batch_op:
        batch_op.drop_column("break_until")
        batch_op.drop_column("duty_reminded_at")
        batch_op.drop_column("on_duty_since")
    with op.batch_alter_table("silent_joins") as batch_op:
        batch_op.drop_index(batch_op.f("ix_silent_joins_staff_id"))
        batch_op.drop_index(batch_op.f("ix_silent_joins_conversation_id"))
    op.drop_table("silent_joins")
