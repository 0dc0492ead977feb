"""directory languages: a service's name and notes in ru, uk, kk and en

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

LANGUAGES = ("ru", "uk", "kk", "en")


def upgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        for language in LANGUAGES:
            batch_op.add_column(sa.Column(f"name_{language}", sa.String(200), nullable=True))
        for language in LANGUAGES:
            batch_op.add_column(sa.Column(f"notes_{language}", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("services", schema=None) as batch_op:
        for language in LANGUAGES:
            batch_op.drop_column(f"notes_{language}")
        for language in LANGUAGES:
            batch_op.drop_column(f"name_{language}")
