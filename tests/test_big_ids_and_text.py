"""PostgreSQL and SQLite store the same things: ids past 2**31 and text with control
characters (a NUL in a canned answer or a post failed on PostgreSQL only)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.dbtypes import clean_text
from bot.models import CannedAnswer, PostVersion
from bot.services import canned, post_drafts
from tests.harness import BotHarness, FakeUser
from tests.test_client_journey import onboard
from tests.test_consultation import CONSULTANT, add_consultant

INT32_PAST = 2**31  # 2,147,483,648: one past PostgreSQL's INTEGER


async def test_a_deep_link_with_an_id_past_int32_is_answered_politely(harness: BotHarness) -> None:
    user = FakeUser(id=5554000001, language_code="en")
    await onboard(harness, user, "en")
    screen = await harness.send(user, f"/start remind_{INT32_PAST}")
    assert screen.text == "This invitation is no longer available."
    assert harness.app.bot_data.runtime.metrics.handler_errors_total == 0


@pytest.mark.parametrize(
    "data",
    [
        "1end:9999999999",
        "1rate:9999999999:5",
        "1fup:9999999999:helped",
        "1svo:9999999999:1",
        "1svm:9999999999:1",
        "1svs:9999999999:1",
        f"1sto:send:{INT32_PAST}",
    ],
)
async def test_a_client_button_with_a_huge_id_is_no_error(harness: BotHarness, data) -> None:
    user = FakeUser(id=5554000002, language_code="en")
    await onboard(harness, user, "en")
    screen = await harness.press_data(user, data)
    assert "something went wrong" not in screen.text
    assert harness.app.bot_data.runtime.metrics.handler_errors_total == 0


@pytest.mark.parametrize(
    "data", ["1take:9999999999", f"1cur:{INT32_PAST}", f"1can:{INT32_PAST}", f"1xto:1:{INT32_PAST}"]
)
async def test_a_staff_button_with_a_huge_id_is_no_error(harness: BotHarness, data) -> None:
    await add_consultant(harness)
    await harness.send(CONSULTANT, "/duty on")
    screen = await harness.press_data(CONSULTANT, data)
    assert "something went wrong" not in screen.text
    assert harness.app.bot_data.runtime.metrics.handler_errors_total == 0


async def test_ids_past_int32_can_be_stored(session) -> None:
    session.add(CannedAnswer(id=INT32_PAST + 5, language="en", title="t", body="b"))
    await session.commit()
    assert await session.get(CannedAnswer, INT32_PAST + 5) is not None


def test_clean_text_keeps_newlines_and_tabs_only() -> None:
    assert clean_text("a\x00b\x07c\x1b[0m\r\n\td\x7f\x85e") == "abc[0m\n\tde"
    assert clean_text("lone \ud800 surrogate") == "lone \ufffd surrogate"
    assert clean_text("Привіт, 👋 — ok") == "Привіт, 👋 — ok"


async def test_a_canned_answer_with_a_nul_is_stored_without_it(session) -> None:
    await canned.add(session, language="en", title="Hi\x00 there", body="Hello\x00\n\tworld\x1b")
    await session.commit()
    row = (
        await session.scalars(select(CannedAnswer).execution_options(populate_existing=True))
    ).one()
    assert (row.title, row.body) == ("Hi there", "Hello\n\tworld")


async def test_a_post_with_a_nul_and_a_lone_surrogate_is_stored(session) -> None:
    post_id = await post_drafts.create(
        session, author_id=None, versions={"ru": "Нало\x00ксон \ud83d!"}
    )
    await post_drafts.set_version(session, post_id, "uk", kind="text", text="Текст\x00 з NUL")
    await session.commit()
    texts = {
        row.language: row.text
        for row in await session.scalars(
            select(PostVersion).execution_options(populate_existing=True)
        )
    }
    assert texts == {"ru": "Налоксон \ufffd!", "uk": "Текст з NUL"}


async def test_a_lookup_with_a_nul_finds_nothing_instead_of_failing(session) -> None:
    assert await session.scalar(select(CannedAnswer).where(CannedAnswer.title == "x\x00")) is None


def test_parse_id_takes_ascii_digits_within_64_bits_only() -> None:
    from bot.ids import parse_id

    assert parse_id("42") == 42 and parse_id(" 2147483648 ") == INT32_PAST
    assert parse_id("-1001234567890", negative=True) == -1001234567890
    for bad in ("²", "١٢٣", "-5", "", "1e3", "9" * 20, str(2**63), "12 3"):
        assert parse_id(bad) is None, bad


@pytest.mark.parametrize("command", ["/canned_delete ²", "/canned_delete " + "9" * 25, "/cap ²"])
async def test_odd_numbers_in_staff_commands_get_the_usage_line(harness: BotHarness, command):
    await add_consultant(harness, role="supervisor")
    screen = await harness.send(CONSULTANT, command)
    assert "something went wrong" not in screen.text
    assert "/canned_delete ID" in screen.text or "/cap N" in screen.text
    assert harness.app.bot_data.runtime.metrics.handler_errors_total == 0
