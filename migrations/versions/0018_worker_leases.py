"""who holds an outbox lease: a restarted process frees a dead worker's leases at once

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 22:00:00
"""

import sqlalchemy as sa
from alembic import op

from bot.dbtypes import Id

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_workers",
        sa.Column("id", Id, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_workers")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leased_by", Id, nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_leased_by"), ["leased_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_leased_by"))
        batch_op.drop_column("leased_by")
    op.drop_table("delivery_workers")
