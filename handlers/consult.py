"""A client asks for a human: intake, the queue, messages while waiting, ending and rating."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
)

from bot import awaiting
from bot.callbacks import (
    AskConsultant,
    ContinueInLanguage,
    EndConversation,
    MakeUrgent,
    OpenRequest,
    Rate,
    pattern_for,
)
from bot.i18n import Translator
from bot.services import closing, feedback, message_target, queue, relay
from bot.services.clients import ClientState
from bot.services.visitors import Visitor
from handlers import forum_common, guard, intake, intake_screens, screens, supervision
from handlers.common import (
    PeerlineContext,
    callback_of,
    incoming_from,
    load_client,
    set_client,
    show,
    translator,
)
from handlers.navigation import next_step, open_ask


async def ask(update: Update, context: PeerlineContext) -> None:
    """ "Ask a consultant" on a topic screen: explain, and ask whether it is urgent."""
    await open_ask(update, context, callback_of(update, AskConsultant).topic)


async def open_request(update: Update, context: PeerlineContext) -> None:
    """The urgency answer: queue the conversation, notify consultants, tell the client."""
    pressed = callback_of(update, OpenRequest)
    topic, urgent = pressed.topic, pressed.urgent
    client = await load_client(update, context)
    if not client.onboarded or topic not in queue.TOPICS:
        await next_step(update, context, client)
        return
    _ = translator(context, client)
    if await guard.refuse_if_blocked(update, context, client.id):
        return
    opened = await intake.open_request(context, client, topic=topic, urgent=urgent)
    if opened.conversation is None:
        assert opened.existing is not None  # refused only because one was open
        await show(update, context, *intake_screens.already_open(_, opened.existing.id))
        return
    text, keyboard = intake_screens.queued_screen(_, context, opened)
    if urgent:
        text = emergency_text(_, context, client, staffed=opened.staffed) + "\n\n" + text
    await show(update, context, text, keyboard)


def emergency_text(
    _: Translator, context: PeerlineContext, client: ClientState, *, staffed: bool = True
) -> str:
    """The ambulance first, never the police (fear of the police stops people calling for an
    overdose); with nobody on duty, the country's crisis lines too."""
    numbers = context.runtime.content.numbers
    country = numbers.get(client.country or "other", numbers["other"])
    text = _.gettext(
        "🚨 <b>If a life is in danger, call an ambulance now: %(ambulance)s or %(unified)s."
        "</b> Overdose first aid: /overdose. Do not wait for a consultant.",
        ambulance=country["ambulance"],
        unified=country["unified"],
    )
    if not staffed:
        text += "\n" + _.gettext(
            "Thoughts of suicide: %(crisis_line)s. Violence: %(violence_line)s. "
            "These lines answer now.",
            crisis_line=country["crisis_line"],
            violence_line=country["violence_line"],
        )
    return text


async def make_urgent(update: Update, context: PeerlineContext) -> None:
    """ "It is urgent now" under a waiting request: consultants on duty and supervisors are
    alerted again, and the client sees the emergency numbers at once."""
    conversation_id = callback_of(update, MakeUrgent).conversation_id
    client = await load_client(update, context)
    _ = translator(context, client)
    async with context.runtime.transaction() as session:
        conversation = await queue.open_for_client(session, client.id)
    if conversation is None or conversation.id != conversation_id:
        await next_step(update, context, client)
        return
    await intake.escalate(context, conversation_id)
    note = _.gettext("Your request is now urgent: the consultants on duty are alerted again.")
    text = emergency_text(_, context, client, staffed=False) + "\n\n" + note
    await show(update, context, text, Keyboard([[screens.first_aid_button(_)]]))


async def choose_language(update: Update, context: PeerlineContext) -> None:
    """ "Yes, Russian is fine" / "No, I will wait" under a request nobody on duty could read:
    re-target it to that language (its consultants are notified), or keep it waiting."""
    pressed = callback_of(update, ContinueInLanguage)
    conversation_id, answer = pressed.conversation_id, pressed.language
    client = await load_client(update, context)
    _ = translator(context, client)
    async with context.runtime.transaction() as session:
        conversation = await queue.open_for_client(session, client.id)
    if conversation is None or conversation.id != conversation_id:
        await next_step(update, context, client)
        return
    language = None if answer == "no" else answer
    opened = await intake.choose_language(context, conversation, language)
    if opened is None:  # taken meanwhile, or a forged language: the request is as it was
        await show(update, context, *intake_screens.already_open(_, conversation.id))
        return
    assert opened.conversation is not None
    text, keyboard = intake_screens.queued_screen(_, context, opened)
    own = _.gettext(intake_screens.IN_LANGUAGE[opened.conversation.language])
    note = (
        _.gettext("Your request now goes to consultants who write %(language)s.", language=own)
        if language
        else _.gettext("Your request waits for a consultant who writes %(language)s.", language=own)
    )
    await show(update, context, note + "\n" + text, keyboard)


async def client_message(update: Update, context: PeerlineContext, person: Visitor) -> None:
    """A message from a client with an open conversation (the dispatcher's second tier):
    record it, relay it if a consultant holds the conversation, confirm it if not."""
    runtime = context.runtime
    client = person.client
    assert client is not None and update.effective_message is not None
    incoming = incoming_from(update)
    _ = translator(context, client)
    if incoming is None:  # a location, a contact, a poll...: say so rather than drop it
        await update.effective_message.reply_text(
            _.gettext("This kind of message cannot be passed on. Please send text or a photo.")
        )
        return
    # Blocked clients are answered and nothing is recorded; the menus stay open to them,
    # /overdose included. A client writing very fast loses nothing: only told once a window
    # that replies may be slower (issue 12). Judged in the transaction that records it.
    async with runtime.transaction() as session:
        verdict = await guard.judge(session, client.id)
        # Its open conversation, the holder and whether anyone reads along, in one look-up.
        target = None if verdict.blocked else await message_target.of_client(session, client.id)
        conversation = target.conversation if target is not None else None
        if conversation is None:  # closed a moment ago: nothing to add it to
            message_id = None
        else:
            message_id = await relay.record(
                session,
                runtime.keys,
                conversation_id=conversation.id,
                author="client",
                incoming=incoming,
            )
        waiting = (
            message_id is not None
            and conversation is not None
            and conversation.status != queue.ACTIVE
        )
        if message_id is not None and conversation is not None:
            await forum_common.mirror(context, session, conversation, message_id, incoming)
        holder = target.holder if target is not None else None
        if message_id is not None and conversation is not None and holder is not None:
            member, chat_ref = holder
            staff_ = runtime.i18n.get(member.languages[0] if member.languages else None)
            await relay.to_staff(
                session,
                runtime.keys,
                message_id=message_id,
                incoming=incoming,
                staff_id=member.id,
                staff_chat_ref=chat_ref,
                header=screens.client_header(staff_, conversation.pseudonym),
                protect_content=context.runtime.settings.protect_content,
            )
            if target is not None and target.read_along:  # else no one could be reading
                await supervision.mirror(context, session, conversation, message_id, incoming)
    if await guard.answer(update, context, verdict, client.language):
        return
    if conversation is None:
        await next_step(
            update,
            context,
            client,
            note=_.gettext("Your conversation has ended. Nothing was sent."),
        )
    elif waiting:  # every message is confirmed: the client must know it was not lost
        await update.effective_message.reply_text(
            _.gettext("Added to your request. The consultant will see it when they take it.")
        )


async def end(update: Update, context: PeerlineContext) -> None:
    """The client cancels a waiting request or ends a conversation (bot/services/closing.py
    does all that follows); after a conversation, the rating request on this screen."""
    conversation_id = callback_of(update, EndConversation).conversation_id
    client = await load_client(update, context)
    _ = translator(context, client)
    runtime = context.runtime
    async with runtime.transaction() as session:
        closed = await closing.close_conversation(
            session, runtime, conversation_id, client_id=client.id
        )
    if closed is None:  # not theirs, or a consultant closed it a moment earlier
        await next_step(update, context, client)
        return
    if closed.was_active:
        text, rows = feedback.rating_request(_, closed.conversation.id)
        await show(update, context, text, Keyboard.de_json({"inline_keyboard": rows}, None))
    else:
        await next_step(update, context, client, note=_.gettext("Your request is cancelled."))


async def rate(update: Update, context: PeerlineContext) -> None:
    """1-5 stars after a conversation closed; each conversation can be rated once."""
    pressed = callback_of(update, Rate)
    conversation_id, stars = pressed.conversation_id, pressed.stars
    client = await load_client(update, context)
    _ = translator(context, client)
    async with context.runtime.transaction() as session:
        rated = await feedback.rate(session, conversation_id, client.id, stars)
    if not rated:
        await next_step(update, context, client, note=_.gettext("Thank you for your rating."))
        return
    # The next text message, if any, is an optional comment (kept in the DB across restarts).
    client = await set_client(update, context, awaiting=awaiting.RatingComment(conversation_id))
    note = _.gettext(
        "Thank you for your rating. If you like, write a comment in one message; "
        "or just carry on with the menu."
    )
    await next_step(update, context, client, note=note)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(ask, pattern=pattern_for(AskConsultant)))
    app.add_handler(CallbackQueryHandler(open_request, pattern=pattern_for(OpenRequest)))
    app.add_handler(CallbackQueryHandler(end, pattern=pattern_for(EndConversation)))
    app.add_handler(CallbackQueryHandler(make_urgent, pattern=pattern_for(MakeUrgent)))
    app.add_handler(CallbackQueryHandler(choose_language, pattern=pattern_for(ContinueInLanguage)))
    app.add_handler(CallbackQueryHandler(rate, pattern=pattern_for(Rate)))
