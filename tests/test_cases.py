"""Rights-violation case records, offline: consent, the form, /cases, /forget, permissions."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.models import AuditEntry, Client
from bot.models_cases import CaseConsent, CaseRecord
from bot.services import case_export, case_fields
from tests.harness import BotHarness, FakeUser, Sent
from tests.test_client_journey import onboard
from tests.test_consultant_tools import ANNA, CLIENT, anna_talks_to_the_client, texts_to
from tests.test_consultation import add_consultant, name_of

SUSAN = FakeUser(id=9300000001, first_name="Susan", username="susan_sup", language_code="en")
CHARLIE = FakeUser(id=9300000002, first_name="Charlie", username="charlie_ch", language_code="en")
STRANGER = FakeUser(id=5570000009, first_name="Sam", username="sam_q", language_code="en")


@pytest.fixture
async def team(harness: BotHarness) -> BotHarness:
    """Anna (peer, on duty), Susan (supervisor), Charlie (channel admin)."""
    await add_consultant(harness, ANNA, display_name="Anna")
    await add_consultant(harness, SUSAN, display_name="Susan", role="supervisor")
    await add_consultant(harness, CHARLIE, display_name="Charlie", role="channel_admin")
    await harness.send(ANNA, "/duty on")
    return harness


@dataclass
class Document:
    chat_id: int
    filename: str
    content: bytes
    caption: str


def capture_documents(harness: BotHarness) -> list[Document]:
    """Uploaded documents (the fake Telegram knows only file ids), answered as Telegram would."""
    telegram = harness.telegram
    original = telegram.do_request
    documents: list[Document] = []

    async def do_request(url: str, method: str, request_data: Any = None, **kwargs: Any) -> Any:
        if url.endswith("/sendDocument") and request_data is not None:
            params = request_data.parameters
            filename, content, _mime = request_data.multipart_data["document"]
            chat_id = int(params["chat_id"])
            documents.append(Document(chat_id, filename, content, params.get("caption", "")))
            telegram.last[chat_id] = Sent(chat_id, 1, f"[document {filename}]")
            result = {
                "message_id": 1,
                "date": 0,
                "chat": {"id": chat_id, "type": "private"},
                "document": {"file_id": "f1", "file_unique_id": "u1"},
            }
            return 200, json.dumps({"ok": True, "result": result}).encode()
        return await original(url, method, request_data, **kwargs)

    telegram.do_request = do_request  # type: ignore[method-assign]
    return documents


async def count(session_factory: Any, model: Any) -> int:
    async with session_factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def last_answer(team: BotHarness) -> str:
    """The text of the bot's latest answer to a button press."""
    answers = [p for name, p in team.telegram.calls if name == "answerCallbackQuery"]
    return str(answers[-1].get("text", ""))


async def asked(team: BotHarness) -> Sent:
    """Anna talks to the client and starts /case: the client's consent question."""
    await anna_talks_to_the_client(team)
    reply = await team.send(ANNA, "/case")
    assert "asked" in reply.text and await name_of(team, CLIENT) in reply.text
    question = team.screen(CLIENT)
    assert "anonymous" in question.text and question.labels == ["Yes, record it", "No"]
    return question


async def agreed(team: BotHarness, keep: bool) -> Sent:
    """The client agrees to (1), and to (2) or not; Anna's form."""
    second = await team.press(CLIENT, "Yes, record it", await asked(team))
    assert "/forget" in second.text
    await team.press(CLIENT, "Yes, it may stay" if keep else "No, delete it with my data", second)
    assert "nothing that names you" in team.screen(CLIENT).text
    form = team.screen(ANNA)
    assert "agreed to a case record" in form.text and "Ukraine" in form.text
    return form


async def fill(team: BotHarness, form: Sent) -> Sent:
    """Anna chooses every field with buttons and types the region."""
    for field, value in (
        ("✏️ Type", "Police violence"),
        ("✏️ Perpetrator", "Police"),
        ("✏️ Legal aid given", "Yes"),
        ("✏️ Outcome", "Pending"),
    ):
        choices = await team.press(ANNA, field, form)
        form = await team.press(ANNA, value, choices)
    months = await team.press(ANNA, "✏️ Month", form)
    form = await team.press(ANNA, case_fields.recent_months()[1], months)
    prompt = await team.press(ANNA, "✏️ Region", form)
    assert "No exact places" in prompt.text
    # She still holds the conversation: asked whether the words are for the client or the
    # region, she presses the region.
    which = await team.send(ANNA, "Kyiv\x07 region")
    assert "region of case" in which.labels[-1]
    form = await team.press(ANNA, which.labels[-1], which)
    form = team.screen(ANNA)
    assert "Kyiv region" in form.text
    return await team.press(ANNA, "✅ Save", form)


async def test_declined_consent_stores_nothing(team: BotHarness, session_factory) -> None:
    question = await asked(team)
    done = await team.press(CLIENT, "No", question)

    assert "nothing was recorded" in done.text
    assert any("did not agree" in text for text in texts_to(team, ANNA))
    assert await count(session_factory, CaseRecord) == 0
    assert await count(session_factory, CaseConsent) == 0


async def test_consent_and_form_give_an_anonymous_row_and_a_csv(
    team: BotHarness, session_factory
) -> None:
    saved = await fill(team, await agreed(team, keep=True))
    assert "Saved" in saved.text
    documents = capture_documents(team)

    await team.send(SUSAN, "/cases")

    [document] = documents
    assert document.chat_id == SUSAN.id and document.filename.endswith(".csv")
    rows = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"))))
    month = case_fields.recent_months()[1]
    assert rows == [
        list(case_export.EXPORT_COLUMNS),
        [month, "UA", "Kyiv region", "police_violence", "police", "yes", "pending"],
    ]
    async with session_factory() as session:
        record = await session.scalar(select(CaseRecord))
        consent = await session.scalar(select(CaseConsent))
        audit = await session.scalar(select(AuditEntry).where(AuditEntry.action == "cases_export"))
    assert record is not None and record.status == "done"
    # The record itself points to no client; the consent does, with its answers and month.
    assert not {"client_id", "conversation_id"} & set(CaseRecord.__table__.columns.keys())
    assert consent is not None and consent.may_record and consent.may_keep
    assert consent.month == case_fields.recent_months()[0] and consent.asked_at is None
    assert audit is not None and audit.staff_id is not None and "rows=1" in (audit.detail or "")


@pytest.mark.parametrize("keep", [True, False])
async def test_forget_removes_the_link_and_the_record_unless_agreed(
    team: BotHarness, session_factory, keep: bool
) -> None:
    await fill(team, await agreed(team, keep=keep))
    confirm = await team.send(CLIENT, "/forget")
    await team.press_data(CLIENT, "1forget:yes", confirm)

    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Client)) == 0
    assert await count(session_factory, CaseConsent) == 0
    assert await count(session_factory, CaseRecord) == (1 if keep else 0)


async def test_forget_while_the_question_waits_keeps_nothing(
    team: BotHarness, session_factory
) -> None:
    await team.press(CLIENT, "Yes, record it", await asked(team))  # (2) never answered
    confirm = await team.send(CLIENT, "/forget")
    await team.press_data(CLIENT, "1forget:yes", confirm)
    assert await count(session_factory, CaseRecord) == 0


async def test_only_supervisors_get_the_export(team: BotHarness, session_factory) -> None:
    await fill(team, await agreed(team, keep=True))
    documents = capture_documents(team)
    for person in (ANNA, CHARLIE, CLIENT):
        reply = await team.send(person, "/cases")
        assert "supervisors" in reply.text or "consultants only" in reply.text
    assert documents == []
    async with session_factory() as session:
        exports = await session.scalar(
            select(func.count()).where(AuditEntry.action == "cases_export")
        )
    assert exports == 0


async def test_a_channel_admin_cannot_start_a_case(team: BotHarness, session_factory) -> None:
    await anna_talks_to_the_client(team)
    before = len(texts_to(team, CLIENT))
    reply = await team.send(CHARLIE, "/case")
    assert "Channel admins" in reply.text
    assert len(texts_to(team, CLIENT)) == before
    assert await count(session_factory, CaseRecord) == 0


async def test_a_forged_or_second_answer_changes_nothing(team: BotHarness, session_factory) -> None:
    question = await asked(team)
    data = question.data_of("Yes, record it")
    await onboard(team, STRANGER, "en")
    await team.press_data(STRANGER, data, question)
    assert "no longer open" in last_answer(team)
    async with session_factory() as session:
        consent = await session.scalar(select(CaseConsent))
    assert consent is not None and consent.may_record is None
    await team.press(CLIENT, "No", question)
    await team.press_data(CLIENT, data, question)  # too late: declined already
    assert await count(session_factory, CaseRecord) == 0


async def test_a_region_with_numbers_is_refused(team: BotHarness) -> None:
    form = await agreed(team, keep=False)
    await team.press(ANNA, "✏️ Region", form)
    which = await team.send(ANNA, "Lenina 5")
    await team.press(ANNA, which.labels[-1], which)
    assert "leave out numbers" in texts_to(team, ANNA)[-1]


async def test_a_second_case_waits_for_the_first_answer(team: BotHarness) -> None:
    await asked(team)
    again = await team.send(ANNA, "/case")
    assert "not answered" in again.text


def test_region_and_csv_are_cleaned() -> None:
    assert case_fields.clean_region("  Almaty\n region\x00 ") == "Almaty region"
    for bad in ("", "x" * 65, "ul. Lenina 5"):
        with pytest.raises(case_fields.CaseError):
            case_fields.clean_region(bad)
    row = dict.fromkeys(case_export.EXPORT_COLUMNS, "")
    data = case_export.to_csv([{**row, "region": "=HYPERLINK(1)"}]).decode("utf-8-sig")
    assert "'=HYPERLINK" in data
    assert (
        case_fields.parse_month("2026-13") is None
        and case_fields.parse_month("2026-01") == "2026-01"
    )


def test_cli_export_filters_by_month_and_is_audited(tmp_path, monkeypatch, capsys) -> None:
    import asyncio

    from bot.cli import main
    from bot.db import make_engine, make_session_factory

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PEERLINE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PEERLINE_SECRET_KEY", "cli-test-secret-key-0123456789abcdef")
    assert main(["migrate"]) == 0
    url = f"sqlite+aiosqlite:///{tmp_path / 'data' / 'peerline.db'}"

    async def seed() -> None:
        engine = make_engine(url)
        async with make_session_factory(engine)() as session, session.begin():
            for month, status in (("2026-01", "done"), ("2026-05", "done"), ("2026-02", "filling")):
                session.add(
                    CaseRecord(status=status, violation="extortion", country="KZ", month=month)
                )
        await engine.dispose()

    async def audit() -> list[tuple[int | None, str | None]]:
        engine = make_engine(url)
        async with make_session_factory(engine)() as session:
            rows = await session.execute(
                select(AuditEntry.staff_id, AuditEntry.detail).where(
                    AuditEntry.action == "cases_export"
                )
            )
            found = [tuple(row) for row in rows]
        await engine.dispose()
        return found  # type: ignore[return-value]

    asyncio.run(seed())
    assert main(["cases", "export", "--from", "2026-01", "--to", "2026-03"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ",".join(case_export.EXPORT_COLUMNS)
    assert out[1:] == ["2026-01,KZ,,extortion,,,"]  # not May's, not the unfinished one
    assert asyncio.run(audit()) == [(None, "months=2026-01..2026-03 rows=1 via=cli")]
    assert main(["cases", "export", "--from", "January"]) == 2


async def test_a_case_can_be_recorded_after_the_conversation_closed(
    team: BotHarness, session_factory
) -> None:
    await anna_talks_to_the_client(team)
    await team.press(ANNA, "information given", await team.send(ANNA, "/close"))
    which = await team.send(ANNA, "/case")
    assert "closed in the last two weeks" in which.text and len(which.labels) == 1
    reply = await team.press(ANNA, which.labels[0], which)
    assert "asked" in reply.text
    question = team.screen(CLIENT)
    assert question.labels == ["Yes, record it", "No"]
    assert await count(session_factory, CaseConsent) == 1
