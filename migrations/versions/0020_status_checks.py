"""status checks: the database refuses a status (or other closed code) it does not know

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 00:10:00

Every status column and the other columns with a closed vocabulary get a CHECK constraint
named ck_<table>_<column>_known (bot/models/base.py `one_of`), so a typo in a service
("closd") fails where it is written instead of hiding a row from every query. NULL still
passes: whether a column may be empty is its own nullability.

The lists are spelled out here, not imported: a migration must not change when the models
do. The next change of a vocabulary is a new revision that drops and re-creates the check.

SQLite cannot add a constraint to a table, so batch mode rebuilds each table (copy, drop,
rename). Dropping a table that others refer to with ON DELETE CASCADE would delete their
rows while foreign keys are enforced, so enforcement is switched off first (SQLite honours
that only outside a transaction: Alembic runs each SQLite revision in its own one, and this
is its first statement) and every reference is checked once the tables are back. It stays
off for the rest of this migration run's connection (inside a transaction SQLite ignores
switching it on); every connection the bot opens switches it on (bot/db.py).
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

ROLES = ("peer", "lawyer", "psychologist", "medic", "supervisor", "admin", "channel_admin")

CHECKS: dict[str, dict[str, tuple[str, ...]]] = {
    "staff": {"role": ROLES},
    "invites": {"role": ROLES},
    "conversations": {
        "status": ("waiting", "active", "closed"),
        "kind": ("consult", "humanitarian"),
        "wanted_role": ROLES,
        "follow_up_answer": ("asked", "helped", "not_helped", "not_reached", "stop"),
    },
    "messages": {"author": ("client", "staff", "note", "system", "whisper")},
    "outbox": {"status": ("pending", "sent", "dead")},
    "posts": {
        "status": ("draft", "scheduled", "published", "cancelled", "deleted"),
        "button_kind": ("none", "consult", "node", "url"),
    },
    "post_versions": {"kind": ("text", "photo", "document")},
    "stories": {"status": ("draft", "pending", "approved", "rejected")},
    "surveys": {"status": ("draft", "open", "closed")},
}


def _name(table: str, column: str) -> str:
    return f"ck_{table}_{column}_known"


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _foreign_keys_off() -> None:
    bind = op.get_bind()
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if bind.exec_driver_sql("PRAGMA foreign_keys").scalar():
        # Still enforced (a transaction was open): rebuilding would cascade-delete rows.
        raise RuntimeError("0020: cannot switch off SQLite foreign keys inside a transaction")


def _check_references() -> None:
    broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"0020: {len(broken)} rows refer to missing rows after the rebuild")


def _rebuild(add: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _foreign_keys_off()
    for table, columns in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, values in columns.items():
                if add:
                    batch_op.create_check_constraint(
                        op.f(_name(table, column)), sa.text(_condition(column, values))
                    )
                else:
                    batch_op.drop_constraint(op.f(_name(table, column)), type_="check")
    if sqlite:
        _check_references()


def upgrade() -> None:
    _rebuild(add=True)


def downgrade() -> None:
    _rebuild(add=False)
