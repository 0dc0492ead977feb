"""Periodic care for the people doing the work (jobs of bot/maintenance.py, each isolated):

- `end_silent_joins`: a supervisor reading along is told when the conversation ends (or went
  back to the queue, or became theirs) and leaves it; every close path is covered, since the
  job looks at the conversation's state rather than at who closed it.
- `offer_debriefs`: after an urgent conversation closes, its consultant is offered a short
  debrief: talk to a supervisor, take a break, go off duty.
- `duty_care`: a break that is over puts the consultant back on duty (and says so); after
  `duty_reminder_hours` on duty they are reminded, once a shift, to rest.

Everything goes through the outbox; every claim is a conditional update (bot/services/care.py,
bot/services/desk.py), so several bot processes never send anything twice.
"""

from __future__ import annotations

from bot.callbacks import CareAnswer, encode
from bot.i18n import Translator
from bot.runtime import Runtime
from bot.services import care, desk, notify, pseudonyms, staff


def care_buttons(
    _: Translator, conversation_id: int, *, talk: bool, minutes: int
) -> list[list[dict[str, str]]]:
    rows = []
    if talk:
        rows.append(
            [
                {
                    "text": "💬 " + _.gettext("Talk to a supervisor"),
                    "callback_data": encode(CareAnswer("talk", conversation_id)),
                }
            ]
        )
    rows.append(
        [
            {
                "text": "☕ " + _.gettext("Take a break (%(n)s min)", n=minutes),
                "callback_data": encode(CareAnswer("break", conversation_id)),
            }
        ]
    )
    rows.append(
        [
            {
                "text": "🌙 " + _.gettext("Go off duty"),
                "callback_data": encode(CareAnswer("off", conversation_id)),
            }
        ]
    )
    return rows


async def end_silent_joins(runtime: Runtime) -> int:
    """Leave conversations that are no longer active; how many joiners were told."""
    told = 0
    async with runtime.transaction() as session:
        for staff_id, pseudonym in await desk.end_stale(session):
            member = await staff.get(session, staff_id)
            if member is None or not member.active:
                continue
            _ = notify.staff_translator(runtime, member)
            who = pseudonyms.display(_, pseudonym)
            text = "👁 " + _.gettext(
                "The conversation with %(who)s is no longer open to read along; you have left it.",
                who=who,
            )
            await notify.staff(session, runtime, member, text)
            told += 1
    if told:
        runtime.outbox_ready()
    return told


async def offer_debriefs(runtime: Runtime) -> int:
    """A debrief for each consultant whose urgent conversation closed; how many."""
    offered = 0
    minutes = runtime.settings.break_minutes
    async with runtime.transaction() as session:
        for debrief in await care.claim_debriefs(session):
            member = await staff.get(session, debrief.staff_id)
            if member is None or not member.active:
                continue
            _ = notify.staff_translator(runtime, member)
            text = _.gettext(
                "💛 The urgent conversation with %(who)s has ended. Thank you for staying with "
                "them. Conversations like this one are heavy: how are you? Take a moment for "
                "yourself before the next one.",
                who=pseudonyms.display(_, debrief.pseudonym),
            )
            buttons = care_buttons(_, debrief.conversation_id, talk=True, minutes=minutes)
            await notify.staff(session, runtime, member, text, buttons=buttons)
            offered += 1
    if offered:
        runtime.outbox_ready()
    return offered


async def duty_care(runtime: Runtime) -> int:
    """Breaks that are over, and the rest reminder; how many members were told."""
    settings = runtime.settings
    told = 0
    async with runtime.transaction() as session:
        for staff_id in await care.end_breaks(session):
            member = await staff.get(session, staff_id)
            if member is None:
                continue
            _ = notify.staff_translator(runtime, member)
            text = "☕ " + _.gettext(
                "Your break is over: you are on duty again. Welcome back. (/duty off if you "
                "need longer.)"
            )
            await notify.staff(session, runtime, member, text)
            told += 1
        reminders = await care.claim_duty_reminders(session, hours=settings.duty_reminder_hours)
        for staff_id, hours in reminders:
            member = await staff.get(session, staff_id)
            if member is None:
                continue
            _ = notify.staff_translator(runtime, member)
            text = "💛 " + _.gettext(
                "You have been on duty for %(hours)s h. Thank you. A glass of water, a few "
                "minutes away from the screen, some air: rest helps you and the people you "
                "answer.",
                hours=hours,
            )
            buttons = care_buttons(_, 0, talk=False, minutes=settings.break_minutes)
            await notify.staff(session, runtime, member, text, buttons=buttons)
            told += 1
    if told:
        runtime.outbox_ready()
    return told
