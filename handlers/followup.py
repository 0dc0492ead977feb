"""The client's answer to "did you get to the service we suggested?"."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler

from bot.callbacks import FollowUpAnswer, pattern_for
from bot.services import followup
from handlers.common import PeerlineContext, callback_of, load_client, translator
from handlers.navigation import next_step


async def follow_up_answer(update: Update, context: PeerlineContext) -> None:
    pressed = callback_of(update, FollowUpAnswer)
    conversation_id, value = pressed.conversation_id, pressed.answer
    client = await load_client(update, context)
    _ = translator(context, client)
    async with context.runtime.transaction() as session:
        stored = await followup.answer(session, conversation_id, client.id, value)
    if not stored:
        note = _.gettext("This button is out of date.")
    elif value == "stop":
        note = _.gettext("We will not ask you again.")
    else:
        note = _.gettext("Thank you for your answer.")
    await next_step(update, context, client, note=note)


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(follow_up_answer, pattern=pattern_for(FollowUpAnswer)))
