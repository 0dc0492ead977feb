"""big ids: 64-bit id columns on PostgreSQL; survey recipients

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-05 21:30:00

On PostgreSQL an INTEGER is 32-bit: a number from a deep link or a button above 2,147,483,647
(`/start remind_2147483648`) raised "value out of int32 range" instead of finding nothing. Every
id column (primary keys and the columns that refer to them) becomes BIGINT, and so do the
sequences behind the primary keys. SQLite's INTEGER is already 64-bit and the models keep it
there (bot/dbtypes.Id), so on SQLite only the new table is created.

survey_recipients: who a survey was sent to (a keyed hash), so that only they can answer it.
Surveys sent before this revision have no recipients recorded, so their in-bot buttons are
answered as "no longer available"; send them again to reopen answering.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None

# table -> its id column and the columns that hold another table's id
WIDEN = {
    "canned_answers": ("id",),
    "clients": ("id",),
    "invites": ("id",),
    "services": ("id",),
    "staff": ("id", "current_conversation_id"),
    "audit_log": ("id", "staff_id", "conversation_id"),
    "blocks": ("id", "client_id", "staff_id"),
    "channels": ("id", "added_by"),
    "conversations": ("id", "client_id", "staff_id", "previous_id"),
    "posts": ("id", "author_id"),
    "rota_slots": ("id", "staff_id"),
    "surveys": ("id", "author_id"),
    "messages": ("id", "conversation_id", "staff_id"),
    "post_channels": ("id", "post_id", "channel_id"),
    "post_versions": ("id", "post_id"),
    "reminders": ("id", "client_id", "post_id"),
    "stories": ("id", "client_id", "post_id", "reviewed_by"),
    "survey_questions": ("id", "survey_id"),
    "outbox": ("id", "message_id", "post_id"),
    "survey_polls": ("id", "question_id", "channel_id"),
    "survey_tallies": ("id", "question_id"),
    "survey_votes": ("id", "question_id"),
}


def _id_type() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _widen(to: sa.types.TypeEngine, sequence_type: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # already 64-bit; rebuilding every table would change nothing
    for table, columns in WIDEN.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, type_=to)
        op.execute(f"ALTER SEQUENCE IF EXISTS {table}_id_seq AS {sequence_type}")


def upgrade() -> None:
    _widen(sa.BigInteger(), "bigint")
    op.create_table(
        "survey_recipients",
        sa.Column("id", _id_type(), nullable=False),
        sa.Column("survey_id", _id_type(), nullable=False),
        sa.Column("recipient", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_recipients_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_recipients")),
        sa.UniqueConstraint(
            "survey_id", "recipient", name=op.f("uq_survey_recipients_survey_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("survey_recipients")
    # Fails if an id above 2,147,483,647 is stored: narrowing would lose it.
    _widen(sa.Integer(), "integer")
