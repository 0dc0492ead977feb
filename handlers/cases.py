"""Rights-violation case records in the bot: /case, the client's consent, /cases.

- /case (consultants): about the conversation of the client's message they replied to, else
  their only open one; otherwise they choose among their open conversations and those they
  closed in the last two weeks. The bot then asks the client, in the client's language,
  the two consent questions; the consultant is told the answers, and gets the form
  (handlers/case_form.py) only if the client agreed. Staff see a pseudonym, never a client.
- The client's answers come as buttons on that question (their private chat only: a client
  button, bot/permissions.py); each is checked against a question really asked of them.
- /cases [FROM] [TO] (supervisors): the finished records as a CSV file, months FROM..TO
  (YYYY-MM, either may be left out); every export is audited (bot/services/case_export.py).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import permissions
from bot.callbacks import CaseConsent, CaseStart, encode, pattern_for
from bot.i18n import N_, Translator
from bot.services import case_consent, case_export, case_fields, cases, notify, staff
from bot.services.case_consent import Answered
from bot.services.case_fields import CaseError
from bot.services.staff import StaffView
from handlers import case_form, screens
from handlers.common import (
    PRIVATE_MESSAGE,
    PeerlineContext,
    answer_query,
    callback_of,
    escape,
    load_client,
    show,
)
from handlers.staff_common import choices, find_target, require_staff, staff_translator

CONSENT_RECORD = N_(
    "Your consultant would like to record what happened to you as an anonymous case of a "
    "rights violation. Organisations collect such records to show authorities and donors how "
    "often people who use drugs meet police violence, refusal of treatment and other "
    "violations, and to push for change.\n\n"
    "What is kept: the kind of violation, the country and region, the month, who did it (for "
    "example, police), whether legal help was given and how it ended. Never your name, the "
    "exact date or place, or your words.\n\n"
    "May we record it? If you say no, nothing is recorded, and the help you get stays the same."
)
CONSENT_KEEP = N_(
    "Thank you. One more question: if you later delete your data (/forget), may this "
    "anonymous record stay? It cannot be traced back to you. If you say no, it is deleted "
    "together with your data."
)


def _roles(context: PeerlineContext, member: StaffView) -> frozenset[permissions.Role]:
    visitor = context.visitor
    return visitor.roles if visitor is not None else permissions.roles_of(member.role)


# --- /case ------------------------------------------------------------------------------------


async def case_command(update: Update, context: PeerlineContext) -> None:
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    message = update.effective_message
    if message is None:
        return
    async with context.runtime.transaction() as session:
        target = await find_target(session, member, message.reply_to_message)
        options = (
            [] if target.conversation else await cases.conversations_to_record(session, member.id)
        )
    if target.conversation is not None:
        await message.reply_text(await _start(context, member, _, target.conversation.id))
        return
    if not options:
        await message.reply_text(
            _.gettext("You have no open or recently closed conversation to record a case from.")
        )
        return
    text = _.gettext(
        "Which conversation is the case from? Your open conversations and those you closed "
        "in the last two weeks:"
    )
    await message.reply_text(text, reply_markup=await choices(context, _, options, CaseStart))


async def case_picked(update: Update, context: PeerlineContext) -> None:
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    conversation_id = callback_of(update, CaseStart).conversation_id
    await show(update, context, escape(await _start(context, member, _, conversation_id)))


async def _start(
    context: PeerlineContext, member: StaffView, _: Translator, conversation_id: int
) -> str:
    """Ask the client for consent; what to tell the consultant."""
    runtime = context.runtime
    try:
        async with runtime.transaction() as session:
            asked = await case_consent.ask(
                session, _roles(context, member), member.id, conversation_id
            )
            client_ = runtime.i18n.get(asked.language)
            yes = encode(CaseConsent(asked.case_id, "yes"))
            no = encode(CaseConsent(asked.case_id, "no"))
            await notify.send(
                session,
                runtime.keys,
                chat_ref=asked.chat_ref,
                recipient=f"client:{asked.client_id}",
                text=client_.gettext(CONSENT_RECORD),
                buttons=[
                    [{"text": client_.gettext("Yes, record it"), "callback_data": yes}],
                    [{"text": client_.gettext("No"), "callback_data": no}],
                ],
                protect_content=runtime.settings.protect_content,
            )
    except CaseError as exc:
        if exc.code == "pending":
            return _.gettext("The client has not answered the consent question yet.")
        return _.gettext("That conversation is not one you can record a case from.")
    return _.gettext(
        "I asked %(who)s for consent, in their language. If they agree, the record form comes "
        "here; if not, nothing is stored.",
        who=screens.client_name(_, asked.pseudonym),
    )


# --- The client's consent ----------------------------------------------------------------------


async def consent(update: Update, context: PeerlineContext) -> None:
    pressed = callback_of(update, CaseConsent)
    client = await load_client(update, context)
    _ = context.runtime.i18n.get(client.language)
    case_id, choice = pressed.case_id, pressed.answer
    async with context.runtime.transaction() as session:
        answered = await case_consent.answer(session, client.id, case_id, choice)
        if answered.outcome in ("declined", "agreed"):
            await _tell_consultant(context, session, answered)
    if answered.outcome == "stale":
        await answer_query(
            update, context, _.gettext("This question is no longer open."), alert=True
        )
        return
    if answered.outcome == "ask_keep":
        keyboard = Keyboard(
            [
                [
                    Button(
                        _.gettext("Yes, it may stay"),
                        callback_data=encode(CaseConsent(case_id, "keep")),
                    )
                ],
                [
                    Button(
                        _.gettext("No, delete it with my data"),
                        callback_data=encode(CaseConsent(case_id, "drop")),
                    )
                ],
            ]
        )
        await show(update, context, _.gettext(CONSENT_KEEP), keyboard)
        return
    if answered.outcome == "declined":
        text = _.gettext("Understood: nothing was recorded. Your consultant has been told.")
    else:
        text = _.gettext(
            "Thank you. Your consultant will fill in the record; it holds nothing that names you."
        )
    await show(update, context, text)


async def _tell_consultant(
    context: PeerlineContext, session: AsyncSession, answered: Answered
) -> None:
    """The consultant who asked learns the answer; with consent, the form comes with it."""
    if answered.staff_id is None:
        return  # they left the team meanwhile
    member = await staff.get(session, answered.staff_id)
    if member is None or not member.active:
        return
    runtime = context.runtime
    _ = runtime.i18n.get(member.languages[0] if member.languages else None)
    who = screens.client_name(_, answered.pseudonym)
    buttons = None
    if answered.outcome == "declined":
        text = _.gettext("%(who)s did not agree to a case record. Nothing was stored.", who=who)
    else:
        case = await cases.get(session, answered.case_id)
        assert case is not None
        keep = _.gettext("yes") if answered.may_keep else _.gettext("no")
        note = _.gettext(
            "%(who)s agreed to a case record (it may stay after they delete their data: "
            "%(keep)s). Fill it in with the buttons.",
            who=who,
            keep=keep,
        )
        text = case_form.form_text(_, case, note)
        buttons = case_form.form_keyboard(_, case).to_dict()["inline_keyboard"]
    await notify.send(
        session,
        runtime.keys,
        chat_ref=await staff.chat_ref(session, member.id),
        recipient=f"staff:{member.id}",
        text=text if buttons else escape(text),
        buttons=buttons,
    )


# --- /cases -------------------------------------------------------------------------------------


async def cases_command(update: Update, context: PeerlineContext) -> None:
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    message = update.effective_message
    if message is None:
        return
    words = (message.text or "").split()[1:]
    months = [case_fields.parse_month(word) for word in words]
    if len(words) > 2 or None in months:
        await message.reply_text(
            _.gettext("Use /cases, or /cases 2026-01 2026-06 for the months from and to.")
        )
        return
    first = months[0] if months else None
    last = months[1] if len(months) > 1 else None
    async with context.runtime.transaction() as session:
        rows = await case_export.export(
            session, _roles(context, member), staff_id=member.id, first=first, last=last, via="bot"
        )
    if not rows:
        await message.reply_text(_.gettext("No saved case records in this period."))
        return
    name = f"cases_{first or 'start'}_{last or 'now'}.csv"
    caption = _.ngettext(
        "%(count)s case record, anonymous. Keep the file safe and share it only for advocacy.",
        "%(count)s case records, anonymous. Keep the file safe and share it only for advocacy.",
        len(rows),
        count=len(rows),
    )
    await message.reply_document(
        InputFile(case_export.to_csv(rows), filename=name), caption=caption
    )


def register(app: Application) -> None:
    app.add_handler(CommandHandler("case", case_command, filters=PRIVATE_MESSAGE))
    app.add_handler(CommandHandler("cases", cases_command, filters=PRIVATE_MESSAGE))
    app.add_handler(CallbackQueryHandler(case_picked, pattern=pattern_for(CaseStart)))
    app.add_handler(CallbackQueryHandler(consent, pattern=pattern_for(CaseConsent)))
    case_form.register(app)
