"""Where a client goes next: shared by the flows so none imports another."""

from __future__ import annotations

from dataclasses import replace

from telegram import Update

from bot import awaiting
from bot.services import crisis, queue, usage
from bot.services.clients import ClientState
from handlers import intake_screens, menu_screens, settings_screens
from handlers.common import PeerlineContext, load_client, set_client, show, translator

OVERDOSE = "overdose"
# A deep link that asks a consultant on a topic: t.me/<bot>?start=ask_ost
ASK_PREFIX = "ask_"
# Besides the overdose section, the crisis screens open for anyone, before any setting.
OPEN_BEFORE_SETUP = frozenset(crisis.HELP_NODE.values())


async def next_step(
    update: Update, context: PeerlineContext, client: ClientState | None = None, *, note: str = ""
) -> None:
    """Show whatever the client still has to choose (language, privacy, country, city),
    or else the main menu, with an optional note on top."""
    client = client or await load_client(update, context)
    runtime = context.runtime
    _ = translator(context, client)
    if client.language is None:
        user = update.effective_user
        suggested = runtime.i18n.suggest(user.language_code if user else None)
        await show(update, context, *settings_screens.language_picker(suggested))
    elif not client.privacy_seen:
        await show(update, context, *settings_screens.privacy_notice(_))
    elif client.country is None:
        await show(update, context, *settings_screens.country_picker(_))
    elif isinstance(client.awaiting, awaiting.CityName):
        await show(update, context, *settings_screens.city_picker(_, runtime, client))
    else:
        # Onboarding is done: the topic a deep link asked for at the start, else the menu.
        node = runtime.content.nodes["main"]
        if client.start_node and client.start_node.startswith(ASK_PREFIX):
            # A post's "Ask a consultant anonymously": the request itself, not a topic menu.
            topic = client.start_node.removeprefix(ASK_PREFIX)
            await set_client(update, context, start_node=None)
            await open_ask(update, context, topic)
            return
        if client.start_node:
            node = runtime.content.node(client.start_node) or node
            client = await set_client(update, context, start_node=None)
        text, keyboard = menu_screens.node_screen(_, runtime, node, client)
        await show(update, context, (note + "\n\n" if note else "") + text, keyboard)


async def open_ask(update: Update, context: PeerlineContext, topic: str) -> None:
    """Start a request to a consultant on a topic (a button, or a post's deep link
    `ask_<topic>`); before onboarding, the request comes right after it."""
    client = await load_client(update, context)
    if topic not in queue.TOPICS:
        await next_step(update, context, client)
        return
    if not client.onboarded:
        client = await set_client(update, context, start_node=ASK_PREFIX + topic)
        await next_step(update, context, client)
        return
    _ = translator(context, client)
    async with context.runtime.transaction() as session:
        existing = await queue.open_for_client(session, client.id)
    if existing is not None:
        await show(update, context, *intake_screens.already_open(_, existing.id))
        return
    await show(update, context, *menu_screens.ask_screen(_, topic))


async def open_node(
    update: Update, context: PeerlineContext, node_id: str, *, new: bool = False
) -> None:
    """Show a menu or text node; until onboarding is done only overdose help opens."""
    client = await load_client(update, context)
    node = context.runtime.content.node(node_id)
    if node is None or node.kind not in ("menu", "text"):
        node = None
    first_aid = node is not None and (
        context.runtime.content.within(node_id, OVERDOSE) or node_id in OPEN_BEFORE_SETUP
    )
    if node is None or (not client.onboarded and not first_aid):
        if node is not None and node_id != context.runtime.content.root:
            # First the language, privacy notice and country; then this topic (next_step).
            client = await set_client(update, context, start_node=node_id)
        await next_step(update, context, client)
        return
    if client.language is None:
        # Overdose help before anything is set up: in the language of their Telegram app
        # (only for this screen, never stored), numbers for every country.
        user = update.effective_user
        language = context.runtime.i18n.suggest(user.language_code if user else None)
        client = replace(client, language=language)
    _ = translator(context, client)
    await show(
        update, context, *menu_screens.node_screen(_, context.runtime, node, client), new=new
    )
    await usage.screen_viewed(context.runtime.sessions, node_id, client)  # reports count it
