"""Never the wrong client (issue 10): every consultant message and command has an explicit
target (a reply, the only conversation, or a button that says who), and clients carry
memorable pseudonyms rendered in each reader's language."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import Conversation
from bot.services import pseudonyms
from tests.harness import BotHarness, FakeTelegram, FakeUser, Sent
from tests.test_consultant_tools import ANNA, OLEH, ask_a_human, team  # noqa: F401 (fixture)
from tests.test_consultation import add_consultant, name_of

CLIENTS = [FakeUser(id=5570000001 + n, first_name=f"C{n}", language_code="en") for n in range(3)]


def copies_in(harness: BotHarness, client: FakeUser) -> set[str]:
    """The consultant messages a client's chat shows (each a copy: "[copy of chat/id]")."""
    return {m.text for m in harness.inbox(client.id) if m.text.startswith("[copy of 9")}


class Sender:
    """A consultant writing; remembers which client each of their messages was meant for."""

    def __init__(self, harness: BotHarness, user: FakeUser) -> None:
        self.harness, self.user = harness, user
        self.meant: dict[int, set[str]] = {}

    def _expect(self, client: FakeUser | None) -> int:
        message_id = self.harness.last_user_message_id()
        if client is not None:
            self.meant.setdefault(client.id, set()).add(f"[copy of {self.user.id}/{message_id}]")
        return message_id

    async def write(self, text: str, meant_for: FakeUser | None) -> Sent:
        screen = await self.harness.send(self.user, text)
        self._expect(meant_for)
        return screen

    async def reply(self, text: str, to: Sent, meant_for: FakeUser | None) -> Sent:
        screen = await self.harness.send_other(
            self.user, text=text, reply_to_message=FakeTelegram._message(to)
        )
        self._expect(meant_for)
        return screen


def relayed(harness: BotHarness, user: FakeUser, words: str) -> Sent:
    """The latest message with these words in a consultant's chat (e.g. a client's)."""
    return next(m for m in reversed(harness.inbox(user.id)) if words in m.text)


async def press_for(harness: BotHarness, user: FakeUser, asked: Sent, client: FakeUser) -> Sent:
    name = await name_of(harness, client)
    return await harness.press(user, next(x for x in asked.labels if name in x), asked)


async def test_two_consultants_three_clients_every_message_reaches_exactly_its_client(
    team: BotHarness,  # noqa: F811
    session_factory,
) -> None:
    one, two, three = CLIENTS
    anna, oleh = Sender(team, ANNA), Sender(team, OLEH)

    await ask_a_human(team, one)
    await team.send(one, "I need methadone, where do I go?")
    await team.send(ANNA, "/take")
    took = relayed(team, ANNA, "You took")
    assert f"Now writing to {await name_of(team, one)}" in took.text
    await anna.write("A1 for one", one)  # her only conversation
    await ask_a_human(team, two)
    await team.send(OLEH, "/take")
    await oleh.write("O1 for two", two)
    await ask_a_human(team, three)
    await team.send(ANNA, "/take")
    took = relayed(team, ANNA, "You took")
    assert "You hold 2 conversations" in took.text  # not "now writing to" the newest

    # Several open, no reply: held and asked, under a reply to the message itself.
    asked = await anna.write("A2 for one", None)
    held = team.last_user_message_id()
    assert asked.text.startswith("Not sent yet") and asked.reply_to["message_id"] == held
    assert copies_in(team, one) == anna.meant[one.id] and not copies_in(team, three)
    name = await name_of(team, one)
    assert f"→ {name} · OST · “I need methadone, where do…”" in asked.labels
    sent = await press_for(team, ANNA, asked, one)  # the press sends that very message
    anna.meant[one.id].add(f"[copy of {ANNA.id}/{held}]")
    assert sent.text == f"Sent to {await name_of(team, one)}."

    await team.send(one, "one: it is getting worse")
    await team.send(three, "three: hello?")
    await anna.reply("A3 for three", relayed(team, ANNA, "three: hello?"), three)
    await anna.reply("A4 for one", relayed(team, ANNA, "one: it is getting worse"), one)
    await oleh.write("O2 for two", two)
    asked = await anna.write("A5 for three", None)
    held = team.last_user_message_id()
    await press_for(team, ANNA, asked, three)
    anna.meant[three.id].add(f"[copy of {ANNA.id}/{held}]")

    # /close with two open: asks which, then the outcome naming that client; only it closes.
    which = await team.send(ANNA, "/close")
    assert "Which conversation?" in which.text and len(which.labels) == 2
    outcome = await press_for(team, ANNA, which, one)
    assert outcome.text == f"How did it end? ({await name_of(team, one)})"
    closed = await team.press(ANNA, "information given", outcome)
    assert f"Now writing to {await name_of(team, three)}" in closed.text
    await anna.write("A6 for three", three)  # now her only one
    # A reply to the closed conversation's message is held, never sent to the other client.
    late = await anna.reply("A7 for one, too late", relayed(team, ANNA, "one: it is"), None)
    assert "is closed" in late.text and "Not sent yet" in late.text

    for client in CLIENTS:
        expected = anna.meant.get(client.id, set()) | oleh.meant.get(client.id, set())
        assert copies_in(team, client) == expected, client.first_name
    assert sum(len(copies_in(team, c)) for c in CLIENTS) == 8
    async with session_factory() as session:
        statuses = list(await session.scalars(select(Conversation.status).order_by("id")))
    assert statuses == ["closed", "active", "active"]


async def test_release_with_two_open_asks_and_confirms_naming_the_client(
    team: BotHarness,  # noqa: F811
    session_factory,
) -> None:
    one, two = CLIENTS[:2]
    for client in (one, two):
        await ask_a_human(team, client)
        await team.send(ANNA, "/take")
    which = await team.send(ANNA, "/release")
    confirm = await press_for(team, ANNA, which, two)
    name = await name_of(team, two)
    assert confirm.text == f"Put {name} back in the queue? They are told."
    async with session_factory() as session:
        assert set(await session.scalars(select(Conversation.status))) == {"active"}
    done = await team.press(ANNA, f"Yes, release {name}", confirm)
    assert done.text.startswith(f"{name} is back in the queue.")
    assert f"Now writing to {await name_of(team, one)}" in done.text
    assert "step away" in team.screen(two).text and "step away" not in team.screen(one).text
    async with session_factory() as session:
        statuses = list(await session.scalars(select(Conversation.status).order_by("id")))
    assert statuses == ["active", "waiting"]


async def test_a_note_by_reply_goes_to_that_client_without_asking(
    team: BotHarness,  # noqa: F811
    session_factory,
) -> None:
    one, two = CLIENTS[:2]
    for client in (one, two):
        await ask_a_human(team, client)
        await team.send(client, f"{client.first_name} writes")
        await team.send(ANNA, "/take")
    saved = await team.send_other(
        ANNA,
        text="/note prefers evenings",
        entities=[{"type": "bot_command", "offset": 0, "length": 5}],
        reply_to_message=FakeTelegram._message(relayed(team, ANNA, "C0 writes")),
    )
    assert saved.text.startswith(f"Note saved for {await name_of(team, one)}.")


# --- Pseudonyms ---------------------------------------------------------------------------


def test_a_pseudonym_reads_as_a_name_in_each_language_and_agrees_in_gender() -> None:
    code = pseudonyms.code(0, 0, 42)
    assert [pseudonyms.render(code, lang) for lang in ("en", "ru", "uk", "kk")] == [
        "Blue Fox 42",
        "Синий Лис 42",
        "Синій Лис 42",
        "Көк Түлкі 42",
    ]
    assert pseudonyms.render("482113", "ru") == "482113"  # an older client keeps their number
    assert pseudonyms.render("a99n99-42", "en") == "a99n99-42"  # unknown words: as stored


def test_two_codes_never_read_alike_and_every_name_leads_back_to_its_code() -> None:
    for language in pseudonyms.LANGUAGES:
        names: dict[str, str] = {}
        for adjective in range(len(pseudonyms.ADJECTIVES)):
            for animal in range(len(pseudonyms.ANIMALS)):
                code = pseudonyms.code(adjective, animal, 57)
                name = pseudonyms.render(code, language)
                assert names.setdefault(name.casefold(), code) == code, (language, name)
                assert pseudonyms.from_text(name.upper()) == code
                assert pseudonyms.from_text(name.lower()) == code
    assert len(pseudonyms.ADJECTIVES) >= 20 and len(pseudonyms.ANIMALS) >= 20
    adjectives = {w.casefold() for row in pseudonyms.ADJECTIVES for w in row}
    animals = {w.casefold() for row in pseudonyms.ANIMALS for w in row}
    assert not adjectives & animals


def test_typed_names_codes_and_old_numbers_are_understood() -> None:
    assert pseudonyms.from_text("тёплый ёж 12") == pseudonyms.from_text("Теплый Еж 12")
    assert pseudonyms.from_text("  a03n09-77 ") == "a03n09-77"
    assert pseudonyms.from_text("Client 482113") == "482113"
    assert pseudonyms.from_text("#482113") == "482113"
    for nothing in ("", "Blue Fox", "Blue Cow 42", "42", "Client 4821"):
        assert pseudonyms.from_text(nothing) is None, nothing


def test_drawn_codes_are_random_fit_the_column_and_grow_when_scarce() -> None:
    drawn = {pseudonyms.draw() for _ in range(200)}
    assert len(drawn) > 150
    assert all(pseudonyms.CODE.fullmatch(c) and len(c) <= 16 for c in drawn)
    assert all(len(pseudonyms.draw(attempt=12).rsplit("-")[1]) == 3 for _ in range(20))


@pytest.mark.parametrize("word", ["horse", "rat", "pig", "snow", "white", "ice", "golden"])
def test_no_slang_or_insult_among_the_english_words(word: str) -> None:
    words = {row[0].casefold() for row in (*pseudonyms.ADJECTIVES, *pseudonyms.ANIMALS)}
    assert word not in words


async def test_unblock_takes_the_name_in_another_language(
    team: BotHarness,  # noqa: F811
    session_factory,
) -> None:
    client = CLIENTS[0]
    await ask_a_human(team, client)
    await team.send(ANNA, "/take")
    await team.send(ANNA, "/block threats")
    sofia = FakeUser(id=9200000030, first_name="Sofia", language_code="ru")
    await add_consultant(team, sofia, display_name="Sofia", role="supervisor", languages=["ru"])
    listing = await team.send(sofia, "/blocked")
    assert await name_of(team, client, "ru") in listing.text
    lifted = await team.send(sofia, "/unblock " + (await name_of(team, client, "kk")).lower())
    assert lifted.text == f"Блокировка снята: {await name_of(team, client, 'ru')}."
