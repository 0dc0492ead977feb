"""The consultant's form for a rights-violation case record (handlers/cases.py starts it).

Every field is chosen with buttons except the region, a few typed words (an input that
lapses, bot/awaiting.py). Nothing else can be typed: no names, exact dates or places, no
narrative. Only the consultant who started the record may fill it in (bot/services/cases.py
checks it on every change); a saved record stays editable, e.g. when the outcome changes.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard
from telegram import Message, Update
from telegram.ext import Application, CallbackQueryHandler

from bot import awaiting
from bot.callbacks import CaseField, CaseValue, encode, pattern_for
from bot.i18n import N_, Translator
from bot.services import case_fields, cases, staff
from bot.services.case_fields import CaseError, CaseView
from bot.services.staff import StaffView
from handlers.common import PeerlineContext, answer_query, callback_of, escape, show
from handlers.settings_screens import COUNTRY_NAMES
from handlers.staff_common import require_staff, staff_translator

FIELD_NAMES = {
    "violation": N_("Type"),
    "country": N_("Country"),
    "region": N_("Region"),
    "month": N_("Month"),
    "perpetrator": N_("Perpetrator"),
    "legal_aid": N_("Legal aid given"),
    "outcome": N_("Outcome"),
}
VALUE_NAMES: dict[str, dict[str, str]] = {
    "violation": {
        "police_violence": N_("Police violence"),
        "arbitrary_detention": N_("Arbitrary detention"),
        "extortion": N_("Extortion"),
        "care_refused": N_("Refusal of medical care or OST"),
        "confidentiality": N_("Breach of medical confidentiality"),
        "discrimination": N_("Discrimination"),
        "parental_rights": N_("Threat to parental rights"),
        "other": N_("Other"),
    },
    "country": COUNTRY_NAMES,
    "perpetrator": {
        "police": N_("Police"),
        "medical_staff": N_("Medical staff"),
        "officials": N_("Other officials"),
        "employer": N_("Employer"),
        "family_partner": N_("Family or partner"),
        "other": N_("Other"),
    },
    "legal_aid": {"yes": N_("Yes"), "no": N_("No")},
    "outcome": {
        "pending": N_("Pending"),
        "resolved": N_("Resolved"),
        "not_resolved": N_("Not resolved"),
        "unknown": N_("Unknown"),
    },
}


def _value(_: Translator, case: CaseView, field: str) -> str:
    raw = getattr(case, field)
    if raw is None:
        return "—"
    if field == "legal_aid":
        raw = "yes" if raw else "no"
    names = VALUE_NAMES.get(field)
    return _.gettext(names[raw]) if names and raw in names else str(raw)


def form_text(_: Translator, case: CaseView, note: str | None = None) -> str:
    """The record as it stands, in the consultant's language (HTML)."""
    lines = [f"📋 <b>{escape(_.gettext('Case record #%(id)s', id=case.id))}</b>"]
    if note:
        lines += [escape(note), ""]
    for field, name in FIELD_NAMES.items():
        lines.append(f"{escape(_.gettext(name))}: <b>{escape(_value(_, case, field))}</b>")
    status = _.gettext("saved") if case.status == "done" else _.gettext("not saved yet")
    lines += [
        "",
        escape(_.gettext("Status: %(status)s", status=status)),
        escape(_.gettext("No names, exact dates or places: the record is anonymous.")),
    ]
    return "\n".join(lines)


def form_keyboard(_: Translator, case: CaseView) -> Keyboard:
    buttons = [
        Button("✏️ " + _.gettext(name), callback_data=encode(CaseField(case.id, field)))
        for field, name in FIELD_NAMES.items()
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append(
        [Button("✅ " + _.gettext("Save"), callback_data=encode(CaseField(case.id, "done")))]
    )
    return Keyboard(rows)


def _chooser(_: Translator, case: CaseView, field: str) -> Keyboard:
    back = [Button("← " + _.gettext("Back"), callback_data=encode(CaseField(case.id, "show")))]
    if field == "region":
        clear = Button(_.gettext("No region"), callback_data=encode(CaseField(case.id, "noregion")))
        return Keyboard([[clear], back])
    if field == "month":
        values = [(month, month) for month in case_fields.recent_months()]
    else:
        values = [(code, _.gettext(name)) for code, name in VALUE_NAMES[field].items()]
    buttons = [
        Button(label, callback_data=encode(CaseValue(case.id, field, code)))
        for code, label in values
    ]
    per_row = 3 if field == "month" else 2
    rows = [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
    return Keyboard([*rows, back])


def error_text(_: Translator, code: str) -> str:
    if code == "region_long":
        return _.gettext(
            "At most %(max)s characters, please: a province or a large city.",
            max=case_fields.REGION_MAX,
        )
    if code == "region_digits":
        return _.gettext("Please leave out numbers: no addresses, house numbers or dates.")
    if code == "region_empty":
        return _.gettext("Please type the region in a few words.")
    if code == "bad_value":
        return _.gettext("Please choose with the buttons.")
    return _.gettext("This case record is not yours to fill in, or the client has not agreed yet.")


REGION_PROMPT = N_(
    "Type the region in a few words: a province or a large city (at most %(max)s "
    "characters). No exact places: no streets, addresses, institutions or names. Or press "
    '"No region".'
)


async def on_form(update: Update, context: PeerlineContext) -> None:
    """A form button: show the form, open a field's choices, ask for the region, save."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    pressed = callback_of(update, CaseField)
    case_id, action = pressed.case_id, pressed.field
    note: str | None = None
    try:
        async with context.runtime.transaction() as session:
            case = await _mine(session, member, case_id)
            if action == "region":
                await staff.set_awaiting(session, member.id, awaiting.CaseRegion(case_id))
            elif action == "noregion":
                case = await cases.set_field(session, member.id, case_id, "region", None)
                await staff.set_awaiting(session, member.id, None)
            elif action == "done" and not case.missing:
                case = await cases.finish(session, member.id, case_id)
                note = _.gettext("Saved. Thank you for documenting this.")
    except CaseError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)
        return
    if action == "done" and case.missing:
        names = ", ".join(_.gettext(FIELD_NAMES[name]) for name in case.missing)
        await answer_query(update, context, _.gettext("Still missing: %(fields)s.", fields=names))
        return
    if action == "region":
        prompt = _.gettext(REGION_PROMPT, max=case_fields.REGION_MAX)
        await show(update, context, form_text(_, case, prompt), _chooser(_, case, "region"))
    elif action in ("show", "noregion", "done"):
        await show(update, context, form_text(_, case, note), form_keyboard(_, case))
    else:
        await show(update, context, form_text(_, case), _chooser(_, case, action))


async def _mine(session: AsyncSession, member: StaffView, case_id: int) -> CaseView:
    """The record, if this consultant fills it in and the client agreed."""
    case = await cases.get(session, case_id)
    if case is None or case.staff_id != member.id or case.status == "asked":
        raise CaseError("not_yours")
    return case


async def on_value(update: Update, context: PeerlineContext) -> None:
    """A value chosen for a field: stored, and the form shown again."""
    member = await require_staff(update, context)
    if member is None:
        return
    _ = staff_translator(context, member)
    pressed = callback_of(update, CaseValue)
    case_id, field, value = pressed.case_id, pressed.field, pressed.value
    try:
        async with context.runtime.transaction() as session:
            case = await cases.set_field(session, member.id, case_id, field, value)
    except CaseError as exc:
        await answer_query(update, context, error_text(_, exc.code), alert=True)
        return
    await show(update, context, form_text(_, case), form_keyboard(_, case))


async def region_typed(
    update: Update,
    context: PeerlineContext,
    member: StaffView,
    value: awaiting.CaseRegion,
    message: Message,
) -> None:
    """The region the consultant typed (the dispatcher decided the message is that)."""
    _ = staff_translator(context, member)
    try:
        async with context.runtime.transaction() as session:
            case = await cases.set_field(
                session, member.id, value.case_id, "region", message.text or ""
            )
            await staff.set_awaiting(session, member.id, None)
    except CaseError as exc:
        if exc.code == "not_yours":
            async with context.runtime.transaction() as session:
                await staff.set_awaiting(session, member.id, None)
        await message.reply_text(error_text(_, exc.code))
        return
    await message.reply_text(
        form_text(_, case), parse_mode="HTML", reply_markup=form_keyboard(_, case)
    )


def register(app: Application) -> None:
    app.add_handler(CallbackQueryHandler(on_form, pattern=pattern_for(CaseField)))
    app.add_handler(CallbackQueryHandler(on_value, pattern=pattern_for(CaseValue)))
