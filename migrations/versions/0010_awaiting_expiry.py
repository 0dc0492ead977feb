"""awaiting expiry: what a person's next message means lasts only so long

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 21:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("clients", "staff"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("awaiting_until", sa.DateTime(timezone=True), nullable=True)
            )


def downgrade() -> None:
    for table in ("clients", "staff"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("awaiting_until")
