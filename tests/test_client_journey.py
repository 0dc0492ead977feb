"""A client's way through the bot, offline, as they would see it."""

from __future__ import annotations

from sqlalchemy import select

from bot.models import Client
from tests.harness import BotHarness, FakeUser


async def onboard(
    harness: BotHarness, user: FakeUser, language: str = "ru", country: str = "UA"
) -> None:
    """Language, privacy notice, country, and skip the city (by button data, any language)."""
    await harness.send(user, "/start")
    await harness.press_data(user, f"1lang:{language}")
    await harness.press_data(user, "1priv:ok")
    await harness.press_data(user, f"1ctry:{country}")
    if country != "other":
        await harness.press_data(user, "1city:-")


async def at_city_prompt(harness: BotHarness, country: str = "Ukraine") -> FakeUser:
    """An English-speaking client who has just been asked for their city."""
    user = FakeUser(language_code="en")
    await harness.send(user, "/start")
    await harness.press(user, "English")
    await harness.press(user, "Understood")
    await harness.press(user, country)
    return user


async def test_first_start_suggests_telegram_language_first(harness: BotHarness) -> None:
    screen = await harness.send(FakeUser(language_code="uk"), "/start")
    assert screen.labels[0] == "Українська"
    assert set(screen.labels) == {"Русский", "Українська", "Қазақша", "English"}


async def test_unknown_telegram_language_suggests_the_default(harness: BotHarness) -> None:
    screen = await harness.send(FakeUser(language_code="de"), "/start")
    assert screen.labels[0] == "Русский"


async def test_onboarding_asks_language_privacy_country_city_then_menu(
    harness: BotHarness, session_factory
) -> None:
    user = FakeUser(language_code="en")
    await harness.send(user, "/start")
    privacy = await harness.press(user, "English")
    assert "Your privacy" in privacy.text
    assert "/forget" in privacy.text
    country = await harness.press(user, "Understood")
    assert country.labels == ["Russia", "Ukraine", "Kazakhstan", "Another country"]
    city = await harness.press(user, "Ukraine")
    assert "city" in city.text.lower()
    assert "Kyiv" in city.labels
    menu = await harness.press(user, "Kyiv")
    assert "Kyiv" in menu.text  # "City saved: Kyiv"
    assert any("verdose" in label for label in menu.labels)
    async with session_factory() as session:
        row = await session.scalar(select(Client))
    assert (row.language, row.privacy_seen, row.country, row.city) == ("en", True, "UA", "kyiv")


async def test_typed_city_is_recognised_in_latin_and_with_a_typo(harness: BotHarness) -> None:
    user = await at_city_prompt(harness, "Kazakhstan")
    exact = await harness.send(user, "Алматы")
    assert "City saved: Almaty" in exact.text
    await harness.press_data(user, "1set:city")
    question = await harness.send(user, "Almatu")
    assert "Which one do you mean?" in question.text
    saved = await harness.press(user, "Almaty", question)
    assert "City saved: Almaty" in saved.text


async def test_city_typed_in_cyrillic_is_saved(harness: BotHarness) -> None:
    user = await at_city_prompt(harness)
    saved = await harness.send(user, "Київ")
    assert "City saved: Kyiv" in saved.text


async def test_unknown_city_is_answered_and_the_client_can_skip(harness: BotHarness) -> None:
    user = await at_city_prompt(harness)
    sorry = await harness.send(user, "Qwertyzxcv")
    assert "do not know this city" in sorry.text
    menu = await harness.press(user, "Skip")
    assert any("verdose" in label for label in menu.labels)


async def test_overdose_command_works_before_onboarding(harness: BotHarness) -> None:
    user = FakeUser(language_code=None)
    screen = await harness.send(user, "/overdose")
    assert "112" in screen.text or "103" in screen.text
    assert screen.buttons  # the overdose sub-screens


async def test_overdose_shows_the_clients_country_numbers(harness: BotHarness) -> None:
    user = FakeUser(language_code="kk")
    await onboard(harness, user, "kk", "KZ")
    screen = await harness.send(user, "/overdose")
    assert "103" in screen.text


async def test_main_menu_starts_with_overdose_help(harness: BotHarness) -> None:
    user = FakeUser()
    await onboard(harness, user)
    menu = await harness.send(user, "/menu")
    assert menu.buttons[0][0]["callback_data"] == "1menu:overdose"


async def test_back_button_returns_to_the_parent_menu(harness: BotHarness) -> None:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    main = await harness.send(user, "/menu")
    ost = await harness.press_data(user, "1menu:ost", main)
    sub = await harness.press_data(user, ost.buttons[0][0]["callback_data"], ost)
    back = await harness.press(user, "‹ Back", sub)
    assert back.text == ost.text


async def test_settings_change_language_changes_the_menus(harness: BotHarness) -> None:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    settings = await harness.send(user, "/settings")
    assert "Settings" in settings.text
    picker = await harness.press(user, "Change language")
    changed = await harness.press(user, "Українська", picker)
    assert "Мова" in changed.text or "мов" in changed.text.lower()


async def test_forget_deletes_the_client_after_confirmation(
    harness: BotHarness, session_factory
) -> None:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    confirm = await harness.send(user, "/forget")
    kept = await harness.press(user, "No, keep it", confirm)
    assert "Settings" in kept.text
    confirm = await harness.send(user, "/forget")
    done = await harness.press(user, "Yes, delete everything", confirm)
    assert "deleted" in done.text
    async with session_factory() as session:
        assert (await session.scalar(select(Client))) is None


async def test_nearby_services_lists_directory_entries_of_the_clients_country(
    harness: BotHarness,
) -> None:
    user = FakeUser(language_code="en")
    await onboard(harness, user, "en")
    main = await harness.send(user, "/menu")
    ost = await harness.press_data(user, "1menu:ost", main)
    services = await harness.press_data(user, "1svc:ost_services:0", ost)
    assert "0 800 507 727" in services.text  # the Ukrainian OST hotline from the seed
    assert "Change city" in services.labels


async def test_restart_keeps_the_onboarding_step(harness: BotHarness, settings, engine) -> None:
    from bot.app import build_application
    from tests.harness import BotHarness as Harness
    from tests.harness import FakeTelegram

    user = FakeUser(language_code="en")
    await harness.send(user, "/start")
    await harness.press(user, "English")
    telegram = FakeTelegram()
    second = build_application(settings, request=telegram)  # a fresh process, same database
    await second.initialize()
    try:
        screen = await Harness(second, telegram).send(user, "/start")
        assert "Your privacy" in screen.text
    finally:
        await second.shutdown()
        await second.bot_data.runtime.engine.dispose()


async def test_a_deep_link_opens_its_topic_also_after_onboarding_first(
    harness: BotHarness, session_factory
) -> None:
    """A channel post's button (t.me/<bot>?start=ost) read by someone new to the bot: first
    the language, privacy notice and country, then the topic they came for."""
    from sqlalchemy import select

    from bot.models import Client

    runtime = harness.app.bot_data.runtime
    ost = runtime.content.screen("ost", "en", "UA").text.splitlines()[0]
    newcomer = FakeUser(id=5559000001, language_code="en")
    picker = await harness.send(newcomer, "/start ost")
    assert "English" in picker.labels  # onboarding first
    await harness.press_data(newcomer, "1lang:en")
    await harness.press_data(newcomer, "1priv:ok")
    await harness.press_data(newcomer, "1ctry:UA")
    arrived = await harness.press_data(newcomer, "1city:-")
    assert arrived.text.splitlines()[0] == ost
    async with session_factory() as session:
        assert await session.scalar(select(Client.start_node)) is None  # used once, cleared
    menu = await harness.send(newcomer, "/menu")
    assert menu.text.splitlines()[0] != ost

    onboarded = FakeUser(id=5559000002, language_code="en")
    await onboard(harness, onboarded, "en")
    direct = await harness.send(onboarded, "/start ost")
    assert direct.text.splitlines()[0] == ost
    unknown = await harness.send(onboarded, "/start no_such_topic")
    assert unknown.text.splitlines()[0] != ost


async def test_a_posts_ask_button_opens_the_request_itself(
    harness: BotHarness, session_factory
) -> None:
    """A post's "Ask a consultant anonymously" (t.me/<bot>?start=ask_ost): a new reader is
    onboarded and then asked "is it urgent?" for that topic; an onboarded one at once."""
    newcomer = FakeUser(id=5559000011, language_code="en")
    picker = await harness.send(newcomer, "/start ask_ost")
    assert "English" in picker.labels
    for data in ("1lang:en", "1priv:ok", "1ctry:UA"):
        await harness.press_data(newcomer, data)
    arrived = await harness.press_data(newcomer, "1city:-")
    assert arrived.text.startswith("<b>Talk to a consultant</b>")
    assert arrived.data_of("No, not urgent") == "1urg:ost:0"

    onboarded = FakeUser(id=5559000012, language_code="en")
    await onboard(harness, onboarded, "en")
    direct = await harness.send(onboarded, "/start ask_legal")
    assert direct.data_of("Yes, it is urgent") == "1urg:legal:1"
    forged = await harness.send(onboarded, "/start ask_nonsense")
    assert "Talk to a consultant" not in forged.text
