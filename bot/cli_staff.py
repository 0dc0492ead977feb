"""`peerline consultants add | list | remove | invite`: managing staff from the server.

Staff are stored by an HMAC of their Telegram id, so `list` cannot show it and never tries.
Nothing here calls Telegram: an invite is printed as a link or a /start command to pass on, and
what a new member is sent (welcome, command menu) is queued in the outbox for the running bot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.crypto import Keys
from bot.i18n import I18n
from bot.languages import LANGUAGES
from bot.services import staff, staff_accounts, staff_guide
from bot.services.staff import StaffError

_Action = Callable[[AsyncSession, Keys, argparse.Namespace], Awaitable[None]]


def _fail(message: str) -> int:
    print(f"peerline: {message}", file=sys.stderr)
    return 1


def _listed(values: tuple[str, ...], every: tuple[str, ...]) -> str:
    return "all" if set(values) == set(every) else ",".join(values)


def _summary(view: staff.StaffView) -> str:
    languages = _listed(view.languages, LANGUAGES)
    topics = _listed(view.topics, staff.STAFF_TOPICS)
    return f"{view.id}: {view.display_name} ({view.role}; languages {languages}; topics {topics})"


def invite_message(token: str, hours: int, bot_username: str | None) -> str:
    if bot_username:
        link = f"https://t.me/{bot_username.lstrip('@')}?start={token}"
        how = f"Open this link in Telegram:\n  {link}"
    else:
        how = f"Send this to the bot in Telegram:\n  /start {token}"
    return (
        f"{how}\n"
        f"It works once, for one person, for {hours} hours. Pass it on privately, "
        "never in a group or channel."
    )


async def _add(session: AsyncSession, keys: Keys, args: argparse.Namespace) -> None:
    """Add or update; the member gets a welcome (new, back, or a new role) and their own "/"
    menu from the outbox, delivered by the running bot."""
    raw = args.telegram_id.strip()
    if not raw.isdecimal():
        raise StaffError(
            "TELEGRAM_ID must be the person's numeric Telegram id, not a username "
            "(or use `peerline consultants invite`)"
        )
    before = await staff.find_by_telegram(session, keys, int(raw))
    view = await staff_accounts.add_staff(
        session,
        keys,
        telegram_id=int(raw),
        display_name=args.name,
        role=args.role,
        languages=args.languages.split(",") if args.languages is not None else None,
        topics=args.topics.split(",") if args.topics is not None else None,
    )
    print(f"saved consultant {_summary(view)}")
    if before is None or before.role != view.role:
        await staff_guide.queue_welcome(session, keys, args.i18n, view)
        print("queued for them: a welcome with the first steps and their command menu")
    else:
        await staff_guide.queue_menu(session, keys, args.i18n, view)
        print("queued for them: their command menu")


async def _list(session: AsyncSession, _keys: Keys, args: argparse.Namespace) -> None:
    views = await staff.list_staff(session, include_removed=args.all)
    if not views:
        print("no consultants yet: add one with `peerline consultants add` or `invite`")
        return
    rows = [("id", "name", "role", "languages", "topics", "on duty", "active")]
    for v in views:
        rows.append(
            (
                str(v.id),
                v.display_name,
                v.role,
                ",".join(v.languages),
                _listed(v.topics, staff.STAFF_TOPICS),
                "yes" if v.on_duty else "no",
                "yes" if v.active else "removed",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


async def _remove(session: AsyncSession, keys: Keys, args: argparse.Namespace) -> None:
    if not args.staff_id.isdecimal():
        raise StaffError("STAFF_ID is the number in the id column of `peerline consultants list`")
    staff_id = int(args.staff_id)
    view = await staff.get(session, staff_id)
    if view is None or not await staff_accounts.remove_staff(session, staff_id):
        raise StaffError(f"no active consultant with id {staff_id}")
    await staff_guide.queue_menu_reset(session, keys, staff_id)
    print(f"removed consultant {staff_id} ({view.display_name}): they can no longer take or answer")


async def _invite(session: AsyncSession, _keys: Keys, args: argparse.Namespace) -> None:
    token = await staff_accounts.create_invite(session, role=args.role, ttl_hours=args.hours)
    print(invite_message(token, args.hours, args.bot_username))


async def _run(settings: Settings, action: _Action, args: argparse.Namespace) -> int:
    from bot.db import make_engine, make_session_factory

    keys = Keys(settings.resolve_secret_key())
    engine = make_engine(settings.effective_database_url)
    try:
        async with make_session_factory(engine)() as session, session.begin():
            await action(session, keys, args)
    except StaffError as exc:
        return _fail(str(exc))
    finally:
        await engine.dispose()
    return 0


def cmd_consultants(settings: Settings, args: argparse.Namespace) -> int:
    from bot.db import upgrade_to_head

    upgrade_to_head(settings.effective_database_url)
    # PEERLINE_BOT_USERNAME, once Settings has it; until then the /start form is printed.
    args.bot_username = getattr(settings, "bot_username", None)
    args.i18n = I18n(settings.default_language)  # for the welcome and menus it queues
    return asyncio.run(_run(settings, args.consultants_action, args))


def register(sub: Any) -> None:
    """Add the `consultants` command group to the top-level sub-parsers."""
    c = sub.add_parser("consultants", help="add, list and remove consultants; make invites")
    c.set_defaults(func=cmd_consultants)
    actions = c.add_subparsers(dest="consultants_command", required=True, metavar="ACTION")

    a = actions.add_parser("add", help="add (or update) a consultant by numeric Telegram id")
    a.add_argument("telegram_id", metavar="TELEGRAM_ID")
    a.add_argument("--name", required=True, help="what clients see, e.g. 'Anna'")
    a.add_argument("--role", required=True, help=", ".join(staff.ROLES))
    a.add_argument("--languages", help="comma-separated, default all: " + ",".join(LANGUAGES))
    a.add_argument("--topics", help="comma-separated, default all: " + ",".join(staff.STAFF_TOPICS))
    a.set_defaults(consultants_action=_add)

    ls = actions.add_parser("list", help="list consultants (never their Telegram ids)")
    ls.add_argument("--all", action="store_true", help="include removed consultants")
    ls.set_defaults(consultants_action=_list)

    r = actions.add_parser("remove", help="remove a consultant at once")
    r.add_argument("staff_id", metavar="STAFF_ID")
    r.set_defaults(consultants_action=_remove)

    i = actions.add_parser("invite", help="make a one-time invite link for a new consultant")
    i.add_argument("--role", required=True, help=", ".join(staff.ROLES))
    i.add_argument("--hours", type=int, default=48, help="how long it works (default 48)")
    i.set_defaults(consultants_action=_invite)
