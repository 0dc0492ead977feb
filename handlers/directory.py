"""Services near the client, from the referral directory, a page at a time."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.callbacks import AskConsultant, ServicesPage, SettingsAction, encode, pattern_for
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import directory, queue
from bot.services.clients import ClientState
from bot.services.content import Node
from handlers import menu_screens, screens
from handlers.common import PeerlineContext, callback_of, load_client, show, translator
from handlers.navigation import next_step

PAGE_SIZE = 5


async def services_page(update: Update, context: PeerlineContext) -> None:
    """A services node: its intro text, then the services of its type near the client."""
    pressed = callback_of(update, ServicesPage)
    node_id, page = pressed.node, pressed.page
    runtime = context.runtime
    node = runtime.content.node(node_id)
    client = await load_client(update, context)
    if node is None or node.kind != "services" or node.service_type is None:
        await next_step(update, context, client)
        return
    _ = translator(context, client)
    async with runtime.transaction() as session:
        result = await directory.find_services(
            session,
            service_type=node.service_type,
            country=client.country,
            city=client.city,
            limit=PAGE_SIZE,
            offset=page * PAGE_SIZE,
        )
        hotlines: tuple[directory.ServiceCard, ...] = ()
        if not result.total:
            hotlines = await directory.national_hotlines(session, client.country)
    text, keyboard = render(_, runtime, client, node_id, page, result, hotlines)
    await show(update, context, text, keyboard)


def render(
    _: Translator,
    runtime: Runtime,
    client: ClientState,
    node_id: str,
    page: int,
    result: directory.ServicePage,
    hotlines: tuple[directory.ServiceCard, ...] = (),
) -> tuple[str, Keyboard]:
    language = client.language or runtime.i18n.default
    node = runtime.content.nodes[node_id]
    parts = [runtime.content.screen(node_id, language, client.country).text]
    if result.items:
        found = _.ngettext("%(n)s service found:", "%(n)s services found:", result.total)
        parts.append("<i>" + found + "</i>")
        parts += [menu_screens.card(_, runtime, item, language) for item in result.items]
    else:
        parts.append(_.gettext("We do not know such services in your area yet."))
        if hotlines:
            heading = _.gettext("National hotlines that can help or refer you:")
            parts.append("<i>" + heading + "</i>")
            parts += [menu_screens.card(_, runtime, item, language) for item in hotlines]
    if client.city is None and client.country not in (None, "other"):
        parts.append("<i>" + _.gettext("Tip: set your city to see services near you.") + "</i>")
    pages = max(1, -(-result.total // PAGE_SIZE))
    rows: list[list[Button]] = []
    paging = []
    if page > 0:
        previous = encode(ServicesPage(node_id, page - 1))
        paging.append(Button("‹ " + _.gettext("Previous"), callback_data=previous))
    if page + 1 < pages:
        following = encode(ServicesPage(node_id, page + 1))
        paging.append(Button(_.gettext("Next") + " ›", callback_data=following))
    if paging:
        rows.append(paging)
        parts.append(_.gettext("Page %(page)s of %(pages)s", page=page + 1, pages=pages))
    if not result.items and client.onboarded:
        # Nothing listed here: a person, not a dead end (the topic of the menu it came from).
        label = "💬 " + _.gettext("Ask a consultant anonymously")
        rows.append(
            [Button(label, callback_data=encode(AskConsultant(_consult_topic(runtime, node))))]
        )
    rows.append([Button(_.gettext("Change city"), callback_data=encode(SettingsAction("city")))])
    rows.append(screens.nav_row(_, node.parent if node.parent != "main" else None))
    return "\n\n".join(parts), Keyboard(rows)


def _consult_topic(runtime: Runtime, node: Node) -> str:
    """The consultation topic of the nearest menu above a services screen, else general."""
    parent = runtime.content.node(node.parent) if node.parent else None
    topic = parent.consult if parent is not None else None
    return topic if topic in queue.TOPICS else "general"


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(services_page, pattern=pattern_for(ServicesPage)))
