"""post others_get: subscribers without a version in their language get this one

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("others_get", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("posts", schema=None) as batch_op:
        batch_op.drop_column("others_get")
