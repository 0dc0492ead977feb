"""What each person can do in the bot, in words: command menus, /help and the staff welcome.

The staff commands a role has are read from the permissions table (bot/permissions.py), so a
menu, a /help page or a welcome can never list a command the role may not use, nor miss one it
gained. Each command has one line here (`STAFF_COMMANDS`); a test checks every command in the
table has its line. No Telegram import: the CLI builds the same texts for the outbox.
"""

from __future__ import annotations

from bot import permissions
from bot.i18n import N_, Translator
from bot.permissions import Role

# The menu everybody sees (Telegram's default scope): clients' commands.
CLIENT_COMMANDS: tuple[tuple[str, str], ...] = (
    ("menu", N_("Main menu")),
    ("overdose", N_("Overdose: first aid now")),
    ("settings", N_("Language, country, city")),
    ("language", N_("Change the language")),
    ("subscribe", N_("News from the organisation")),
    ("story", N_("Share your experience anonymously")),
    ("hide", N_("Clear this chat now")),
    ("forget", N_("Delete all my data")),
    ("help", N_("What this bot can do")),
)

# One line per staff command, in the order a newcomer needs them. Only those in the
# permissions table for the person's role are shown ("desk" appears once the table has it).
STAFF_COMMANDS: dict[str, str] = {
    "start": N_("Your desk: on duty or not, who is waiting, your conversations"),
    "duty": N_("/duty on or /duty off: receive new requests or not"),
    "queue": N_("Who is waiting for you"),
    "take": N_("Take the next waiting conversation"),
    "close": N_("Close the conversation and choose the outcome"),
    "release": N_("Put the conversation back in the queue"),
    "transfer": N_("Hand the conversation to a colleague or a role"),
    "refer": N_("Send the client a service from the directory"),
    "canned": N_("Ready-made answers"),
    "note": N_("A private note on the conversation (clients never see it)"),
    "history": N_("This client's earlier conversations"),
    "block": N_("Block a client who abuses the service (give a reason)"),
    "topics": N_("The topics you answer"),
    "cap": N_("How many conversations you hold at once"),
    "rota": N_("Duty hours of the team"),
    "practice": N_("A practice conversation with a pretend client"),
    "case": N_("Record a rights violation (with the client's consent)"),
    "help_me": N_("Ask a supervisor for help with a hard conversation"),
    "name": N_("The name clients see"),
    "desk": N_("The team's desk: waiting, on duty, who holds what"),
    "whisper": N_("Write only to the consultant whose conversation you read along"),
    "report": N_("Indicators of a period for donors: table, files and charts"),
    "dashboard": N_("The team's desk and this month's figures so far"),
    "blocked": N_("Blocked clients"),
    "unblock": N_("Unblock a client"),
    "canned_add": N_("Add a ready-made answer for the team"),
    "canned_delete": N_("Delete a ready-made answer"),
    "cases": N_("Export the rights-violation case records (CSV)"),
    "invite": N_("A one-time link for a new team member"),
    "post": N_("Write a post for the channels"),
    "posts": N_("Drafts, scheduled and published posts"),
    "channels": N_("The organisation's channels"),
    "channel_add": N_("Connect a channel"),
    "stories": N_("Stories sent by clients, to review"),
    "survey": N_("Write a survey"),
    "surveys": N_("Surveys and their results"),
    "cancel": N_("Stop what you started (e.g. a post's text)"),
}

# Commands that are not actions of the permissions table but belong in every staff menu.
_ALWAYS = ("start",)
_CLIENT = frozenset({Role.CLIENT})


def commands_for(role: str) -> list[str]:
    """The staff commands of a role, in `STAFF_COMMANDS` order: those the role may use and a
    client may not (plus /cancel for the roles that start inputs, and the desk via /start)."""
    roles = permissions.roles_of(role)
    names = [name for name in _ALWAYS]
    for name in STAFF_COMMANDS:
        if name in _ALWAYS or name not in permissions.TABLE:
            continue
        if name == "cancel":
            if permissions.allowed(roles, "post"):  # posts and surveys are written in steps
                names.append(name)
            continue
        if permissions.allowed(roles, name) and not permissions.allowed(_CLIENT, name):
            names.append(name)
    return names


def menu_for(_: Translator, role: str) -> list[tuple[str, str]]:
    """(command, one line) for a staff member's own "/" menu: their role's commands, then the
    client commands everyone may use."""
    staff = [(name, _.gettext(STAFF_COMMANDS[name])) for name in commands_for(role)]
    taken = {name for name, _line in staff}
    client = [(name, _.gettext(text)) for name, text in CLIENT_COMMANDS if name not in taken]
    return staff + client


ROLE_NAMES = {
    "peer": N_("peer consultant"),
    "lawyer": N_("lawyer"),
    "psychologist": N_("psychologist"),
    "medic": N_("medic"),
    "supervisor": N_("supervisor"),
    "admin": N_("coordinator"),
    "channel_admin": N_("channel admin"),
}


def staff_help(_: Translator, role: str) -> str:
    """/help for staff: their commands, one line each, then the client part in one line."""
    lines = [
        _.gettext("<b>Your commands (%(role)s)</b>", role=_.gettext(ROLE_NAMES[role])),
        *(f"/{name} – {_.gettext(STAFF_COMMANDS[name])}" for name in commands_for(role)),
    ]
    if permissions.allowed(permissions.roles_of(role), "answer"):
        lines += ["", _.gettext("To answer a client, reply to their message, or just write.")]
    client = " ".join(f"/{name}" for name, _text in CLIENT_COMMANDS)
    lines += ["", _.gettext("Like anyone, you can also use the client menu: %(list)s", list=client)]
    return "\n".join(lines)


def welcome(_: Translator, role: str, display_name: str) -> str:
    """The first message a new team member gets: who they are here, and three first steps."""
    intro = _.gettext(
        "<b>Welcome to the team!</b> You are registered as %(role)s. Clients see you as "
        "“%(name)s” (change it with /name Your Name).",
        role=_.gettext(ROLE_NAMES[role]),
        name=_escape(display_name),
    )
    roles = permissions.roles_of(role)
    if permissions.allowed(roles, "answer"):
        steps = [
            _.gettext("1. /duty on – you start receiving requests in your languages and topics."),
            _.gettext(
                "2. Take one with the “%(take)s” button in the notice, or with /take. Then reply "
                "to the client's message to answer them: they never see who you are.",
                take=_.gettext("Take it"),
            ),
            _.gettext("3. /close when you are done, and choose the outcome."),
        ]
    else:
        steps = [
            _.gettext("1. /channels – the organisation's channels (/channel_add connects one)."),
            _.gettext("2. /post – write a post in your languages, preview it, schedule it."),
            _.gettext("3. /posts – your drafts, scheduled and published posts."),
        ]
    lines = [intro, "", _.gettext("Your first three steps:"), *steps, ""]
    if permissions.allowed(roles, "practice"):
        lines.append(_.gettext("Try it first without a real client: /practice"))
    if permissions.allowed(roles, "desk") and "desk" in permissions.TABLE:
        lines.append(_.gettext("As a supervisor, /desk shows the whole team at a glance."))
    if permissions.allowed(roles, "invite"):
        lines.append(_.gettext("/invite ROLE makes a one-time link for a new team member."))
    lines.append(_.gettext("/help lists all your commands; the “/” menu shows them too."))
    return "\n".join(lines)


def _escape(text: str) -> str:
    """For HTML parse mode (kept here so the CLI needs no handler import)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
