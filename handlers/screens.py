"""Screens shared by several flows: each returns (text, keyboard) built from the translator.

No literal user-facing text lives in the flow modules; it is here or in content/.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from bot import guide
from bot.callbacks import encode
from bot.i18n import N_, Translator
from bot.runtime import Runtime
from bot.services import hours, pseudonyms
from bot.services.clients import ClientState
from bot.services.content import Node
from bot.services.directory import ServiceCard
from handlers.common import escape

Screen = tuple[str, Keyboard]

# Autonyms: a person must recognise their language before anything is translated.
LANGUAGE_NAMES = {"ru": "Русский", "uk": "Українська", "kk": "Қазақша", "en": "English"}
COUNTRY_NAMES = {
    "RU": N_("Russia"),
    "UA": N_("Ukraine"),
    "KZ": N_("Kazakhstan"),
    "other": N_("Another country"),
}


def nav_row(_: Translator, back_to: str | None, *, first_aid: bool = True) -> list[Button]:
    """Back, the main menu and, from every screen outside the overdose section, first aid
    in one tap."""
    row = []
    if back_to is not None:
        row.append(Button("‹ " + _.gettext("Back"), callback_data=encode("menu", back_to)))
    row.append(Button("☰ " + _.gettext("Main menu"), callback_data=encode("menu", "main")))
    if first_aid:
        row.append(first_aid_button(_))
    return row


def main_menu_button(_: Translator) -> Keyboard:
    return Keyboard(
        [[Button("☰ " + _.gettext("Main menu"), callback_data=encode("menu", "main"))]]
    )


def language_picker(suggested: str) -> Screen:
    text = "Выберите язык · Оберіть мову · Тілді таңдаңыз · Choose your language"
    order = [suggested, *(code for code in LANGUAGE_NAMES if code != suggested)]
    rows = [[Button(LANGUAGE_NAMES[code], callback_data=encode("lang", code))] for code in order]
    return text, Keyboard(rows)


def privacy_notice(_: Translator) -> Screen:
    text = _.gettext(
        "<b>Your privacy</b>\n"
        "• We do not store your name, username, phone number or Telegram ID. "
        "The bot knows you only by a random code.\n"
        "• We store your language, country and city, so that the menus fit you, and what you "
        "ask us for (news, a reminder, a story you send) only as long as it is needed.\n"
        "• Consultants never see who you are.\n"
        "• Chats with bots are not end-to-end encrypted: Telegram can see them. "
        "Do not write your name, address or anything that identifies you.\n"
        "• We never write to you from personal accounts.\n"
        "• /forget deletes everything we store about you, at any time."
    )
    return text, Keyboard([[Button(_.gettext("Understood"), callback_data=encode("priv", "ok"))]])


def country_picker(_: Translator) -> Screen:
    rows = [
        [Button(_.gettext(name), callback_data=encode("ctry", code))]
        for code, name in COUNTRY_NAMES.items()
    ]
    return _.gettext("Which country are you in? We show help and services for it."), Keyboard(rows)


def city_picker(_: Translator, runtime: Runtime, client: ClientState) -> Screen:
    language = client.language or runtime.i18n.default
    popular = runtime.cities.in_country(client.country or "other")[:8]
    buttons = [
        Button(runtime.cities.name(city.key, language), callback_data=encode("city", city.key))
        for city in popular
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(_.gettext("Skip"), callback_data=encode("city", "-"))])
    text = _.gettext(
        "Which city are you in? Pick it below or type its name. "
        "This is optional: it only helps us show services near you."
    )
    return text, Keyboard(rows)


def node_button(_: Translator, runtime: Runtime, node: Node, language: str) -> Button:
    label = runtime.content.button(node.id, language)
    if node.kind == "services":
        data = encode("svc", node.id, 0)
    elif node.kind == "action":
        # Settings predate the other built-in screens and keep their button data.
        data = encode("set", "show") if node.id == "settings" else encode("act", node.id)
    else:
        data = encode("menu", node.id)
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
        rows.append([Button(label, callback_data=encode("hreq", "start"))])
    elif node.consult and client.onboarded:
        label = "💬 " + _.gettext("Ask a consultant anonymously")
        rows.append([Button(label, callback_data=encode("ask", node.consult))])
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
        nav[-1] = Button("⚙️ " + _.gettext("Set up the bot"), callback_data=encode("menu", "main"))
    rows.append(nav)
    if node.id == runtime.content.root:
        rows.pop()  # the main menu needs no way back to itself
    return screen.text + sources_line(_, screen.sources), Keyboard(rows)


FIRST_AID = "overdose"


def clear_chat_button(_: Translator) -> Button:
    """Quick hide (handlers/hide.py): one tap, no confirmation, nothing left behind."""
    return Button("🧹 " + _.gettext("Clear this chat"), callback_data=encode("hide", "now"))


def first_aid_button(_: Translator) -> Button:
    return Button("🆘 " + _.gettext("Overdose"), callback_data=encode("menu", FIRST_AID))


def settings_screen(_: Translator, runtime: Runtime, client: ClientState, note: str = "") -> Screen:
    language = client.language or runtime.i18n.default
    city = runtime.cities.name(client.city, language) if client.city else _.gettext("not set")
    country = _.gettext(COUNTRY_NAMES.get(client.country or "other", COUNTRY_NAMES["other"]))
    intro = runtime.content.screen("settings", language, client.country).text
    text = (
        (note + "\n\n" if note else "")
        + intro
        + "\n\n"
        + _.gettext(
            "Language: %(language)s\nCountry: %(country)s\nCity: %(city)s",
            language=LANGUAGE_NAMES[language],
            country=escape(country),
            city=escape(city),
        )
        + "\n"
        + (_.gettext("News: on") if client.subscribed else _.gettext("News: off"))
        + "\n\n"
        + _.gettext(
            "🧹 Clear this chat (/hide) deletes every message of the last 48 hours here, ours "
            "and yours, at once and without a trace. Telegram does not let a bot delete older "
            "ones: to remove those, delete the chat in Telegram."
        )
    )
    news = (
        Button(_.gettext("Unsubscribe from news"), callback_data=encode("news", "off"))
        if client.subscribed
        else Button(_.gettext("Subscribe to news"), callback_data=encode("news", "on"))
    )
    rows = [
        [Button(_.gettext("Change language"), callback_data=encode("set", "lang"))],
        [Button(_.gettext("Change country"), callback_data=encode("set", "country"))],
        [Button(_.gettext("Change city"), callback_data=encode("set", "city"))],
        [news],
        [clear_chat_button(_)],
        [Button(_.gettext("Delete all my data"), callback_data=encode("set", "forget"))],
        nav_row(_, None),
    ]
    return text, Keyboard(rows)


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
        [Button(_.gettext("Yes, it is urgent"), callback_data=encode("urg", topic, 1))],
        [Button(_.gettext("No, not urgent"), callback_data=encode("urg", topic, 0))],
        [Button("‹ " + _.gettext("Back"), callback_data=encode("menu", topic_node(topic)))],
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


# --- Consultation ------------------------------------------------------------------------

ROLE_NAMES = guide.ROLE_NAMES  # one list, with the command guide
TOPIC_NAMES = {
    "ost": N_("OST"),
    "hiv": N_("HIV"),
    "tb": N_("TB"),
    "hepatitis": N_("hepatitis"),
    "testing": N_("testing"),
    "legal": N_("legal"),
    "psychologist": N_("psychological support"),
    "humanitarian": N_("humanitarian aid"),
    "general": N_("general question"),
}
OUTCOME_NAMES = {
    "information": N_("information given"),
    "referred": N_("referred to a service"),
    "legal_aid": N_("legal aid"),
    "humanitarian": N_("humanitarian aid arranged"),
    "no_answer": N_("no answer from the client"),
    "other": N_("other"),
}


def client_name(_: Translator, pseudonym: str | None) -> str:
    """ "Blue Fox 42" in the reader's language (bot/services/pseudonyms.py); a client named
    before word pseudonyms keeps "Client 482113"."""
    return pseudonyms.display(_, pseudonym)


def client_header(_: Translator, pseudonym: str | None) -> str:
    return "👤 <b>" + escape(client_name(_, pseudonym)) + "</b>"


def conversation_line(_: Translator, conversation) -> str:  # type: ignore[no-untyped-def]
    """ "Blue Fox 42 · OST · ru · UA" for consultants: never anything that identifies."""
    topic = _.gettext(TOPIC_NAMES.get(conversation.topic, TOPIC_NAMES["general"]))
    parts = [client_name(_, conversation.pseudonym), topic, conversation.language]
    parts.append(conversation.country)
    return escape(" · ".join(parts))


# On a "which conversation?" button: enough of the client's last line to recognise it.
LAST_LINE_MAX = 28


def conversation_choice(_: Translator, conversation: Any, last_line: str | None) -> str:
    """ "Blue Fox 42 · OST · “I need methadone, whe…”" for a button that picks a
    conversation."""
    topic = _.gettext(TOPIC_NAMES.get(conversation.topic, TOPIC_NAMES["general"]))
    label = f"{client_name(_, conversation.pseudonym)} · {topic}"
    if last_line:
        if len(last_line) > LAST_LINE_MAX:
            last_line = last_line[: LAST_LINE_MAX - 1].rstrip() + "…"
        label += " · “" + last_line + "”"
    return label


def holding_line(_: Translator, active: Sequence[Any]) -> str:
    """Where a consultant's next plain message goes, said after every take, transfer, close
    and release: to their only client, or (several) to the one they reply to, else asked."""
    if not active:
        return ""
    if len(active) == 1:
        return _.gettext(
            "Now writing to %(who)s: what you write here goes to them, anonymously.",
            who=client_name(_, active[0].pseudonym),
        )
    return _.ngettext(
        "You hold %(n)s conversation: reply to a client's message to answer them (or I will ask).",
        "You hold %(n)s conversations: reply to a client's message to answer them (or I will ask).",
        len(active),
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
