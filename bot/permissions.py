"""Who may do what: one table, role -> actions, for every command, button and typed input.

The front door (handlers/door.py) checks it before any handler runs, and the service that
performs an action checks it again (`require`), so a path that forgets cannot open a hole
(issue 8: a channel admin could /take a client's conversation and read it).

Everyone may act as a client (the menus, overdose help, asking a consultant); staff roles add
actions. An action not in the table is not a permission question (e.g. an unknown command,
which gets its own polite answer).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLIENT = "client"  # anyone: every person may use the menus and ask for help
    PEER = "peer"
    LAWYER = "lawyer"
    PSYCHOLOGIST = "psychologist"
    MEDIC = "medic"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    CHANNEL_ADMIN = "channel_admin"


class Denied(Exception):
    """An action refused by the table; services raise it, the front door answers it."""

    def __init__(self, action: str) -> None:
        super().__init__(action)
        self.action = action


EVERYONE = frozenset(Role)
STAFF = frozenset(Role) - {Role.CLIENT}
CONSULTING = frozenset(
    {Role.PEER, Role.LAWYER, Role.PSYCHOLOGIST, Role.MEDIC, Role.SUPERVISOR, Role.ADMIN}
)
SUPERVISING = frozenset({Role.SUPERVISOR, Role.ADMIN})
POSTING = frozenset({Role.CHANNEL_ADMIN, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

# Commands, by name; buttons, by their callback kind (bot/callbacks.py) as "cb:<kind>";
# typed inputs, by their kind (bot/awaiting.py) as "in:<kind>".
TABLE: dict[str, frozenset[Role]] = {
    # Consulting: the queue, conversations and the tools inside them.
    "duty": CONSULTING,
    "queue": CONSULTING,
    "take": CONSULTING,
    "close": CONSULTING,
    "release": CONSULTING,
    "history": CONSULTING,
    "note": CONSULTING,
    "transfer": CONSULTING,
    "refer": CONSULTING,
    "canned": CONSULTING,
    "topics": CONSULTING,
    "rota": CONSULTING,
    "cap": CONSULTING,
    "block": CONSULTING,
    "practice": CONSULTING,  # a pretend conversation (handlers/practice.py)
    "cancel": EVERYONE,
    "cb:take": CONSULTING,
    "cb:close": CONSULTING,
    "cb:cur": CONSULTING,
    "cb:for": CONSULTING,
    "cb:on": CONSULTING,
    "cb:xfr": CONSULTING,
    "cb:xto": CONSULTING,
    "cb:ref": CONSULTING,
    "cb:can": CONSULTING,
    "cb:tpc": CONSULTING,
    "answer": CONSULTING,  # a plain message that goes to a client
    # Care for consultants: ask a supervisor (a command, or a button in a conversation), and
    # the debrief after an urgent conversation (talk, take a break, go off duty).
    "help_me": CONSULTING,
    "cb:askhelp": CONSULTING,
    "cb:care": CONSULTING,
    # Supervising: blocks, the team's canned answers.
    "unblock": SUPERVISING,
    "blocked": SUPERVISING,
    "canned_add": SUPERVISING,
    "canned_delete": SUPERVISING,
    # The live desk: who holds what, joining a conversation silently, whispering to its
    # consultant, taking it over.
    "desk": SUPERVISING,
    "whisper": SUPERVISING,
    "cb:desk": SUPERVISING,
    "cb:join": SUPERVISING,
    # Reports: indicators for donors, small numbers suppressed (handlers/report.py).
    "report": SUPERVISING,
    "dashboard": SUPERVISING,
    # Admins: new staff.
    "invite": ADMINS,
    # Rights-violation case records: a consultant records one (with the client's consent);
    # supervisors export them.
    "case": CONSULTING,
    "cb:cso": CONSULTING,
    "cb:cf": CONSULTING,
    "cb:cv": CONSULTING,
    "in:case_region": CONSULTING,
    "cases": SUPERVISING,
    # Any staff member: the name clients see.
    "name": STAFF,
    # Channel admins: channels, posts, stories, surveys.
    "post": POSTING,
    "posts": POSTING,
    "channels": POSTING,
    "channel_add": POSTING,
    "stories": POSTING,
    "survey": POSTING,
    "surveys": POSTING,
    "cb:chl": POSTING,
    "cb:pe": POSTING,
    "cb:pp": POSTING,
    "cb:pl": POSTING,
    "cb:pb": POSTING,
    "cb:pc": POSTING,
    "cb:pls": POSTING,
    "cb:pf": POSTING,
    "cb:rdy": POSTING,
    "cb:stv": POSTING,
    "cb:svy": POSTING,
    "in:post_text": POSTING,
    "in:post_edit": POSTING,
    "in:post_url": POSTING,
    "in:post_event": POSTING,
    "in:post_when": POSTING,
    "in:survey_q": POSTING,
}

# What a refusal says depends on what the action needs (handlers/door.py words it).
NEEDS_CONSULTING, NEEDS_SUPERVISING, NEEDS_POSTING, NEEDS_ADMIN, NEEDS_STAFF = (
    "consulting",
    "supervising",
    "posting",
    "admin",
    "staff",
)


def allowed(roles: frozenset[Role], action: str) -> bool:
    """Whether any of the person's roles may do the action (actions not in the table are
    not a permission question)."""
    wanted = TABLE.get(action)
    return wanted is None or bool(roles & wanted)


def require(roles: frozenset[Role], action: str) -> None:
    """For services: the second check, in case a path reached them without the door's."""
    if not allowed(roles, action):
        raise Denied(action)


def need_of(action: str) -> str:
    """Which kind of role an action needs, for the refusal's wording."""
    wanted = TABLE.get(action, EVERYONE)
    if wanted == ADMINS:
        return NEEDS_ADMIN
    if wanted == POSTING:
        return NEEDS_POSTING
    if wanted == SUPERVISING:
        return NEEDS_SUPERVISING
    if wanted == CONSULTING:
        return NEEDS_CONSULTING
    return NEEDS_STAFF


def roles_of(staff_role: str | None, *, bootstrap_admin: bool = False) -> frozenset[Role]:
    """Everyone is a client; a staff member adds their role; an id listed in the settings'
    admin ids may act as an admin before any staff exist (to send the first /invite)."""
    roles = {Role.CLIENT}
    if staff_role is not None:
        roles.add(Role(staff_role))
    if bootstrap_admin:
        roles.add(Role.ADMIN)
    return frozenset(roles)
