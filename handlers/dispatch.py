"""What a plain message means: one dispatcher for every non-command private message.

Before, seven handlers in seven groups each re-read the sender and parsed their own "awaiting"
string, and whatever mode a person was stuck in decided what their words meant (issue 8). Now
the front door (handlers/door.py) resolves the sender once and this module decides, in this
order, and nowhere else:

1. **A crisis signal** in the words (bot/services/crisis.py): life-saving help is answered
   first, whatever the state; in a conversation the message is still relayed and the request
   turns urgent. A form the person was filling in stays open.
2. **A conversation the person is in**: a consultant's message goes to their client (never to
   a guess: by reply, or their only conversation, else they are asked and the button they
   press sends it); a client's goes to their request or consultant. A consultant who also
   started an input is asked which it is.
   2b. **A practice conversation** a consultant started (/practice): the scripted pretend
   client answers; nothing is recorded. Only when they hold no real conversation.
3. **A staff input they started** (a post's text, a survey question), if their role may.
4. **A client form** they are filling in: city, rating comment, aid details, story.
5. **The menus**: a polite note and where they are.

An input that lapsed (bot/awaiting.py) is closed first and the person is told.
"""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot import awaiting, permissions
from bot.callbacks import MessageFor, OpenRequest, encode, parse_as, pattern_for
from bot.services import crisis, crisis_reader, queue, recorded
from bot.services.clients import ClientState
from bot.services.queue import ConversationView
from bot.services.staff import StaffView
from bot.services.visitors import Visitor
from handlers import (
    case_form,
    consult,
    consultant_relay,
    humanitarian,
    intake,
    menu_screens,
    post_input,
    practice,
    screens,
    stories,
    surveys,
    text_input,
    whisper,
)
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    answer_query,
    incoming_from,
    load_client,
    show,
)
from handlers.door import describe, drop_input, visitor
from handlers.staff_common import require_staff, staff_translator

# After the front door (-100) and the commands that end an update early; before group 0.
GROUP = -1


async def on_message(update: Update, context: PeerlineContext) -> None:
    message = update.effective_message
    if message is None:
        return
    person = await visitor(update, context)
    if person.lapsed is not None and person.awaiting is None:
        person = await drop_input(update, context, person, lapsed=True)
    member = person.staff
    consulting = member is not None and permissions.allowed(person.roles, "answer")
    # 1. Danger in their words comes before anything else they may be doing: help first,
    # then the message still reaches their consultant (and turns the request urgent). A
    # form they were filling in stays open: these words were not its answer.
    if not consulting and awaiting.as_staff(person.awaiting) is None:
        kind = crisis_reader.detect(message.text or message.caption or "")
        if kind is not None:
            await crisis_help(update, context, person, kind)
            if person.conversation is not None and person.client is not None:
                await consult.client_message(update, context, person)
                await intake.escalate(context, person.conversation.id)
            return
    # 2. A conversation. A reply to a whisper, or a supervisor's reply to a copy of a
    # conversation they read along with, is a whisper between staff: never an answer.
    if member is not None and await whisper.reply_whisper(update, context, member, message):
        return
    if (
        member is not None
        and consulting
        and await consultant_relay.answer(update, context, member, message)
    ):
        return
    if person.conversation is not None and person.client is not None:
        await consult.client_message(update, context, person)
        if person.awaiting is not None:  # it went to the consultant instead: say so
            await drop_input(update, context, person)
        return
    # 2b. Practising (handlers/practice.py): a consultant's answer to the pretend client.
    # After the real conversations above, so a real client always wins; before their inputs,
    # since the practice is what they started last (starting it closes any other input).
    if member is not None and member.practice is not None and consulting:
        await practice.answer(update, context, member, message)
        return
    # 3. A staff input.
    pending = person.awaiting
    staff_pending = awaiting.as_staff(pending)
    if member is not None and staff_pending is not None:
        if permissions.allowed(person.roles, f"in:{staff_pending.kind}"):
            await take_staff_input(update, context, member, staff_pending, message)
        else:  # their role changed since they started it
            await drop_input(update, context, person)
        return
    if member is not None and consulting:
        _ = staff_translator(context, member)
        await message.reply_text(consultant_relay.no_conversation(_))
        return
    # 4. A client form, 5. the menus.
    client = person.client or await load_client(update, context)
    match awaiting.as_client(pending):
        case awaiting.CityName():
            await text_input.city_typed(update, context, client)
        case awaiting.RatingComment() as comment:
            await text_input.comment_typed(update, context, client, comment)
        case awaiting.AidDetails() as aid:
            await humanitarian.details_typed(update, context, client, aid)
        case awaiting.StoryText():
            await stories.story_text(update, context, client)
        case None:
            await text_input.menus(update, context, client)


# Who an urgent request from a crisis screen goes to.
CRISIS_TOPIC = {
    crisis.CrisisKind.OVERDOSE: "general",
    crisis.CrisisKind.SUICIDE: "psychologist",
    crisis.CrisisKind.VIOLENCE: "legal",
}


async def crisis_help(
    update: Update, context: PeerlineContext, person: Visitor, kind: crisis.CrisisKind
) -> None:
    """The help for this danger (first aid, or the crisis lines and emergency numbers) as a
    new message, whatever the person was doing; set up or not, in their language (before set
    up, their Telegram app's, never stored). An onboarded client not yet talking to anyone is
    offered an urgent consultant at once."""
    runtime = context.runtime
    node = runtime.content.node(crisis.HELP_NODE[kind])
    assert node is not None
    client = person.client
    if client is None or client.language is None:
        user = update.effective_user
        language = runtime.i18n.suggest(user.language_code if user else None)
        client = replace(client or NOBODY, language=language)
    _ = runtime.i18n.get(client.language)
    text, keyboard = menu_screens.node_screen(_, runtime, node, client)
    rows = [list(row) for row in keyboard.inline_keyboard]
    if client.onboarded and person.conversation is None:
        urgent = Button(
            "🚨 " + _.gettext("Talk to a consultant now"),
            callback_data=encode(OpenRequest(CRISIS_TOPIC[kind], urgent=True)),
        )
        rows.insert(0, [urgent])
    await show(update, context, text, Keyboard(rows), new=True)


# Someone with no client row yet (a first message): rendered, never stored.
NOBODY = ClientState(
    id=0, key="", language=None, privacy_seen=False, country=None, city=None, awaiting=None
)


async def take_staff_input(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    value: awaiting.StaffInput,
    message: Message,
) -> None:
    match value:
        case awaiting.SurveyQuestion():
            await surveys.admin_input(update, context, member, value, message)
        case awaiting.CaseRegion():
            await case_form.region_typed(update, context, member, value, message)
        case _:
            await post_input.admin_input(update, context, member, value, message)


async def resolve_which(update: Update, context: PeerlineContext) -> None:
    """The answer to "who is this message for?" (consultant_relay.answer). The message
    asked about is the one the question replied to, so nothing is kept meanwhile."""
    query = update.callback_query
    member = await require_staff(update, context)
    if member is None or query is None:
        return
    _ = staff_translator(context, member)
    callback = parse_as(query.data, MessageFor)
    question = query.message if isinstance(query.message, Message) else None
    original = question.reply_to_message if question is not None else None
    if callback is None or original is None:
        await answer_query(update, context, _.gettext("Please send it again."), alert=True)
        return
    if callback.target == "i":
        pending = member.awaiting
        if pending is None:
            await answer_query(update, context, _.gettext("Please send it again."), alert=True)
            return
        await query.edit_message_text("✏️ " + describe(_, pending))
        await take_staff_input(update, context, member, pending, original)
        if not context.answered:  # the input refused the message and said why
            await answer_query(update, context)
        return
    conversation_id = callback.conversation_id
    if conversation_id is None:  # "c" always carries its conversation; forged otherwise
        await answer_query(update, context, _.gettext("Please send it again."), alert=True)
        return
    incoming = incoming_from(update, original)
    async with context.runtime.transaction() as session:
        active = await queue.active_for_staff(session, member.id)
        conversation = next((c for c in active if c.id == conversation_id), None)
        # A second press (the same or another button, before the first one's edit arrived)
        # must not send the message twice.
        earlier = await already_sent(session, active, original.message_id)
        if earlier is None and conversation is not None and incoming is not None:
            await consultant_relay.answer_client(context, session, conversation, member, incoming)
    if earlier is not None:
        conversation = earlier
    elif conversation is None or incoming is None:
        await answer_query(
            update, context, _.gettext("That conversation is no longer yours."), alert=True
        )
        return
    await answer_query(update, context)
    await query.edit_message_text(
        _.gettext("Sent to %(who)s.", who=screens.client_name(_, conversation.pseudonym))
    )


async def already_sent(
    session: AsyncSession, active: list[ConversationView], source_message_id: int
) -> ConversationView | None:
    """The open conversation this consultant's message was already sent to, if any."""
    for conversation in active:
        found = await recorded.find_recorded(
            session,
            author="staff",
            chat_source_message_id=source_message_id,
            conversation_id=conversation.id,
        )
        if found is not None:
            return conversation
    return None


def register(app: Application) -> None:
    app.add_handler(
        MessageHandler(PRIVATE_MESSAGE & ~filters.COMMAND & ~filters.StatusUpdate.ALL, on_message),
        group=GROUP,
    )
    app.add_handler(CallbackQueryHandler(resolve_which, pattern=pattern_for(MessageFor)))
