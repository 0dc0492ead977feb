"""The front door: every update is resolved once into who is writing, and checked against
the permissions table before any flow sees it.

- `visitor` looks the sender up once per update (client, staff and roles, open conversation,
  what their next message means) and keeps the answer on the context for every handler.
- `enter` runs first for every update (group `GROUP`): a command or button the sender's roles
  may not use is refused here, politely, whatever handler would have taken it; /start and
  /cancel close an input the person had started, and say so.
- A client's button (one no staff role is needed for) works only in the person's private chat:
  pressed in a group it is answered and goes no further, so no client is ever tied to a group
  (issue 12). A press with no message the bot can see is answered here when no flow could
  act on it (see `unusable_press`).
- What a plain message means is decided in one place, handlers/dispatch.py.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CommandHandler, TypeHandler

from bot import awaiting, permissions
from bot.callbacks import parse
from bot.i18n import Translator
from bot.services import visitors
from bot.services.visitors import Visitor
from handlers import errors
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    answer_query,
    message_of,
    screen_of,
    user_id_of,
)

log = logging.getLogger(__name__)

# Before every flow: python-telegram-bot runs handler groups in ascending order.
GROUP = -100


async def visitor(update: Update, context: PeerlineContext) -> Visitor:
    """Who is writing, looked up once per update (one short transaction); a new message in
    their private chat is recorded in it, so /hide can delete it later."""
    if context.visitor is None:
        user_id = user_id_of(update)
        runtime = context.runtime
        chat = update.effective_chat
        message = update.message
        private = chat is not None and chat.type == ChatType.PRIVATE
        incoming = message.message_id if message is not None and private else None
        async with runtime.transaction() as session:
            context.visitor = await visitors.resolve(
                session,
                runtime.keys,
                user_id,
                bootstrap_admin=user_id in runtime.settings.admin_ids,
                incoming_message_id=incoming,
                # In their private chat, the chat id is the user id: a client row stored with
                # any other chat (a group, before issue 12) is put right.
                private_chat_id=user_id if private else None,
            )
    return context.visitor


def translator_for(update: Update, context: PeerlineContext, person: Visitor) -> Translator:
    """Staff read the bot in the first language they serve; a client in the language they
    chose; anyone else in their Telegram app's language (never stored)."""
    i18n = context.runtime.i18n
    if person.staff is not None and person.staff.languages:
        return i18n.get(person.staff.languages[0])
    if person.client is not None and person.client.language:
        return i18n.get(person.client.language)
    user = update.effective_user
    return i18n.get(i18n.suggest(user.language_code if user else None))


def action_of(update: Update) -> str | None:
    """The permission-table action an update asks for: a command by name, a button by its
    kind; None for anything else (plain messages are the dispatcher's)."""
    if update.callback_query is not None:
        callback = parse(update.callback_query.data)
        return f"cb:{callback.kind}" if callback else None
    message = update.message
    if message is None or not message.text or not message.text.startswith("/"):
        return None
    return command_name(message)


def command_name(message: Message) -> str | None:
    word = (message.text or "").split(maxsplit=1)[0]
    name = word[1:].partition("@")[0].lower()
    return name or None


async def enter(update: Update, context: PeerlineContext) -> None:
    """The door's checks; if they fail in any way, the update goes no further.

    python-telegram-bot runs the next handler group after an exception in this one: a refusal
    that Telegram would not deliver (a press answered too late: "query is too old") or a
    database error while looking the sender up let the refused command or button through to
    its flow. Now the error is handled here, as the error handler would, and the update stops.
    """
    try:
        await check(update, context)
    except ApplicationHandlerStop:
        raise
    except TelegramError as error:
        # Telegram refused our answer (the refusal, "out of date"): nothing more to say.
        log.warning("door: Telegram refused an answer (%s)", type(error).__name__)
        raise ApplicationHandlerStop from error
    except Exception as error:
        context.error = error
        await errors.on_error(update, context)
        raise ApplicationHandlerStop from error


async def check(update: Update, context: PeerlineContext) -> None:
    """Refuse what the sender may not do; close an input on /start and /cancel."""
    user = update.effective_user
    if user is None:
        asks = (update.callback_query, update.message, update.edited_message)
        if any(part is not None for part in asks):
            # Forged (Telegram always names the sender of these): nobody to act for.
            await answer_query(update, context)
            raise ApplicationHandlerStop
        return  # a channel post, a poll's new totals: the flows that want them check them
    if user.is_bot:
        return
    action = action_of(update)
    chat = update.effective_chat
    private = chat is not None and chat.type == ChatType.PRIVATE
    if action is None and not private:
        return  # e.g. a message in the staff forum: the forum flow knows its own rules
    person = await visitor(update, context)
    if action is not None and not permissions.allowed(person.roles, action):
        await refuse(update, context, person, action)
        raise ApplicationHandlerStop
    if action is not None and unusable_press(update, action, private=private):
        _ = translator_for(update, context, person)
        if screen_of(update) is None:
            await answer_query(update, context, _.gettext("This button is out of date."))
        else:
            text = _.gettext("Please use this in your private chat with me.")
            await answer_query(update, context, text, alert=True)
        raise ApplicationHandlerStop
    if action == "start" and (person.awaiting or person.lapsed):
        await drop_input(update, context, person)


def unusable_press(update: Update, action: str, *, private: bool) -> bool:
    """A button no flow should act on here: a client's button outside the person's private
    chat (a client is only ever reached there), or a staff button on a message the bot cannot
    see (its flows confirm by editing that message; the command does the same). A client's
    button on an unseen message still works: the screen comes as a new message."""
    if update.callback_query is None:
        return False
    client_button = action not in permissions.TABLE
    if client_button:
        return not private
    return screen_of(update) is None


async def refuse(update: Update, context: PeerlineContext, person: Visitor, action: str) -> None:
    _ = translator_for(update, context, person)
    text = refusal_text(_, person, action)
    if update.callback_query is not None:
        await answer_query(update, context, text, alert=True)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text)


def refusal_text(_: Translator, person: Visitor, action: str) -> str:
    need = permissions.need_of(action)
    if need == permissions.NEEDS_POSTING:
        return _.gettext("This is for channel admins only.")
    if need == permissions.NEEDS_ADMIN:
        return _.gettext("This is for admins only.")
    if need == permissions.NEEDS_SUPERVISING and person.staff is not None:
        return _.gettext("Only supervisors and coordinators can do this.")
    if person.staff is not None and person.staff.role == permissions.Role.CHANNEL_ADMIN:
        return _.gettext("Channel admins write posts (/post) and take no conversations.")
    return _.gettext("This is for consultants only.")


def describe(_: Translator, value: awaiting.Input) -> str:
    """An input in words, for "closed without saving: …" and "who is this for?"."""
    match value:
        case awaiting.CityName():
            return _.gettext("your city")
        case awaiting.RatingComment():
            return _.gettext("a comment on your rating")
        case awaiting.AidDetails():
            return _.gettext("your aid request")
        case awaiting.StoryText():
            return _.gettext("your story")
        case awaiting.PostText(post_id=post_id, language=language):
            return _.gettext(
                "the %(language)s text of post #%(id)s", language=language.upper(), id=post_id
            )
        case awaiting.PostEdit(post_id=post_id, language=language):
            return _.gettext(
                "the new %(language)s text of post #%(id)s", language=language.upper(), id=post_id
            )
        case awaiting.PostUrl(post_id=post_id):
            return _.gettext("the link button of post #%(id)s", id=post_id)
        case awaiting.PostEvent(post_id=post_id):
            return _.gettext("the event time of post #%(id)s", id=post_id)
        case awaiting.PostWhen(post_id=post_id):
            return _.gettext("the publishing time of post #%(id)s", id=post_id)
        case awaiting.SurveyQuestion(survey_id=survey_id):
            return _.gettext("a question for survey #%(id)s", id=survey_id)
        case awaiting.CaseRegion(case_id=case_id):
            return _.gettext("the region of case #%(id)s", id=case_id)
    raise TypeError(value)


async def drop_input(
    update: Update, context: PeerlineContext, person: Visitor, *, lapsed: bool = False
) -> Visitor:
    """Close whatever input the person had started (or let lapse) and tell them, so no later
    message is taken for it and nothing they wrote is silently lost."""
    dropped = person.awaiting or person.lapsed
    async with context.runtime.transaction() as session:
        person = await visitors.clear_input(session, person)
    context.visitor = person
    message = update.effective_message
    if dropped is None or message is None:
        return person
    _ = translator_for(update, context, person)
    what = describe(_, dropped)
    text = (
        _.gettext(
            "You did not finish %(what)s in time, so it was closed. This message was not used "
            "for it.",
            what=what,
        )
        if lapsed
        else _.gettext("Closed without saving: %(what)s.", what=what)
    )
    await message.reply_text(text)
    return person


async def cancel(update: Update, context: PeerlineContext) -> None:
    """/cancel: close the input the person started, if any."""
    person = await visitor(update, context)
    if person.awaiting or person.lapsed:
        await drop_input(update, context, person)
        return
    _ = translator_for(update, context, person)
    await message_of(update).reply_text(_.gettext("Nothing to cancel."))


def register(app: Application) -> None:
    app.add_handler(TypeHandler(Update, enter), group=GROUP)
    app.add_handler(CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE))
