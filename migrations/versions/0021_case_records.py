"""rights-violation case records and the consent that links one to a client

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 00:10:00
"""

import sqlalchemy as sa
from alembic import op

from bot.dbtypes import CleanString, Id

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_records",
        sa.Column("id", Id, nullable=False),
        sa.Column("staff_id", Id, nullable=True),
        sa.Column("status", CleanString(length=8), nullable=False),
        sa.Column("violation", CleanString(length=24), nullable=True),
        sa.Column("country", CleanString(length=8), nullable=True),
        sa.Column("region", CleanString(length=64), nullable=True),
        sa.Column("month", CleanString(length=7), nullable=True),
        sa.Column("perpetrator", CleanString(length=16), nullable=True),
        sa.Column("legal_aid", sa.Boolean(), nullable=True),
        sa.Column("outcome", CleanString(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["staff.id"],
            name=op.f("fk_case_records_staff_id_staff"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_records")),
    )
    with op.batch_alter_table("case_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_records_staff_id"), ["staff_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_case_records_month"), ["month"], unique=False)
    op.create_table(
        "case_consents",
        sa.Column("id", Id, nullable=False),
        sa.Column("case_id", Id, nullable=False),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("conversation_id", Id, nullable=True),
        sa.Column("may_record", sa.Boolean(), nullable=True),
        sa.Column("may_keep", sa.Boolean(), nullable=True),
        sa.Column("month", CleanString(length=7), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["case_records.id"],
            name=op.f("fk_case_consents_case_id_case_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_case_consents_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_case_consents_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_consents")),
        sa.UniqueConstraint("case_id", name=op.f("uq_case_consents_case_id")),
    )
    with op.batch_alter_table("case_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_consents_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_case_consents_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("case_consents")
    op.drop_table("case_records")
