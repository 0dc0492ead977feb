"""The client's menus: a content screen with its buttons, /help, "talk to a consultant" and
a directory entry."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from bot.callbacks import (
    AidRequest,
    AskConsultant,
    OpenMenu,
    OpenRequest,
    OpenScreen,
    ServicesPage,
    SettingsAction,
    encode,
)
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import hours
from bot.services.clients import ClientState
from bot.services.content import Node
from bot.services.directory import ServiceCard
from handlers.common import escape
from handlers.screens import FIRST_AID, Screen, clear_chat_button, nav_row


def node_button(_: Translator, runtime: Runtime, node: Node, language: str) -> Button:
    label = runtime.content.button(node.id, language)
    if node.kind == "services":
        data = encode(ServicesPage(node=node.id, page=0))
    elif node.kind == "action":
        # Settings predate the other built-in screens and keep their button data.
        data = (
            encode(SettingsAction(action="show"))
            if node.id == "settings"
            else encode(OpenScreen(node=node.id))
        )
    else:
        data = encode(OpenMenu(node=node.id))
    return Button(label, callback_data=data)


def sources_line(_: Translator, sources: tuple[str, ...]) -> str:
    if not sources:
        return ""
    links = " ".join(f'<a href="{escape(url)}">[{i}]</a>' for i, url in enumerate(sources, 1))
    return "\n\n<i>" + _.gettext("Sources:") + "</i> " + links


def node_screen(_: Translator, runtime: Runtime, node: Node, client: ClientState) -> Screen:
    language = client.language or runtime.i18n.default
    screen = runtime.content.screen(node.id, language, client.country)
    rows = [
        [node_button(_, runtime, child, language)]
        for child in runtime.content.children(node.id, client.country)
    ]
    if node.consult == "humanitarian" and client.onboarded:
        label = "📦 " + _.gettext("Request humanitarian aid")
        rows.append([Button(label, callback_data=encode(AidRequest(need="start")))])
    elif node.consult and client.onboarded:
        label = "💬 " + _.gettext("Ask a consultant anonymously")
        rows.append([Button(label, callback_data=encode(AskConsultant(topic=node.consult)))])
    if node.id == runtime.content.root:
        rows.append([clear_chat_button(_)])
    in_first_aid = runtime.content.within(node.id, FIRST_AID)
    nav = nav_row(
        _,
        node.parent if node.parent not in (None, "main") else None,
        first_aid=client.onboarded and not in_first_aid,
    )
    if not client.onboarded:
        # Overdose help opens before any setting is chosen: the way on is to set up the bot,
        # offered after the first aid, never instead of it.
        nav[-1] = Button(
            "⚙️ " + _.gettext("Set up the bot"), callback_data=encode(OpenMenu(node="main"))
        )
    rows.append(nav)
    if node.id == runtime.content.root:
        rows.pop()  # the main menu needs no way back to itself
    return screen.text + sources_line(_, screen.sources), Keyboard(rows)


def topic_node(topic: str) -> str:
    """The menu screen of a consultation topic ("general" is asked from the main menu)."""
    return "main" if topic == "general" else topic


def ask_screen(_: Translator, topic: str) -> Screen:
    """ "Talk to a consultant": what happens, and whether it is urgent (the next step)."""
    text = _.gettext(
        "<b>Talk to a consultant</b>\n"
        "A peer consultant will answer here, in this chat. They will not see your name, "
        "username or phone number.\n\n"
        "Is it urgent: an overdose now, violence, or thoughts of suicide?"
    )
    rows = [
        [
            Button(
                _.gettext("Yes, it is urgent"),
                callback_data=encode(OpenRequest(topic=topic, urgent=True)),
            )
        ],
        [
            Button(
                _.gettext("No, not urgent"),
                callback_data=encode(OpenRequest(topic=topic, urgent=False)),
            )
        ],
        [Button("‹ " + _.gettext("Back"), callback_data=encode(OpenMenu(node=topic_node(topic))))],
    ]
    return text, Keyboard(rows)


def help_text(_: Translator, country: str | None = None) -> str:
    """/help. Clients in Russia get a list without OST: it is banned there (3-FZ Art. 46)."""
    if country == "RU":
        body = _.gettext(
            "<b>What this bot can do</b>\n"
            "It helps people who use drugs, and those close to them, find help anonymously: "
            "overdose first aid, HIV, TB and hepatitis care, testing, legal help, "
            "humanitarian aid and services near you.\n\n"
            "/menu – main menu\n"
            "/overdose – overdose first aid, at once\n"
            "/settings – language, country, city\n"
            "/language – change the language\n"
            "/subscribe – news from the organisation (/unsubscribe stops them)\n"
            "/story – share your experience anonymously\n"
            "/forget – delete everything we store about you\n"
            "/help – this message"
        )
    else:
        body = _.gettext(
            "<b>What this bot can do</b>\n"
            "It helps people who use drugs, and those close to them, find help anonymously: "
            "overdose first aid, opioid substitution therapy, HIV, TB and hepatitis care, testing, "
            "legal help, humanitarian aid and services near you.\n\n"
            "/menu – main menu\n"
            "/overdose – overdose first aid, at once\n"
            "/settings – language, country, city\n"
            "/language – change the language\n"
            "/subscribe – news from the organisation (/unsubscribe stops them)\n"
            "/story – share your experience anonymously\n"
            "/forget – delete everything we store about you\n"
            "/help – this message"
        )
    return (
        body
        + "\n"
        + _.gettext(
            "/hide – clear this chat now: every message of the last 48 hours (Telegram does not "
            "let a bot delete older ones)"
        )
    )


# --- Directory ------------------------------------------------------------------------


def card(_: Translator, runtime: Runtime, service: ServiceCard, language: str) -> str:
    """One directory entry as a few short lines in the client's language; unverified entries
    say so."""
    lines = [f"<b>{escape(service.name_in(language))}</b>"]
    if not service.verified:
        lines[0] += " · <i>" + _.gettext("not verified, please check before you go") + "</i>"
    if service.city:
        lines.append("🏙 " + escape(runtime.cities.name(service.city, language)))
    opening = hours.render(service.hours, language, always=_.gettext("open 24/7"))
    for icon, value in (("📍", service.address), ("📞", service.phone), ("🕒", opening)):
        if value:
            lines.append(f"{icon} {escape(value)}")
    if service.website:
        lines.append(f'🌐 <a href="{escape(service.website)}">{escape(service.website)}</a>')
    notes = service.notes_in(language)
    if notes:
        lines.append(escape(notes))
    return "\n".join(lines)
