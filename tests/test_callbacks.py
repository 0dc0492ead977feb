"""Typed callback data (bot/callbacks.py): every kind round-trips through encode and parse with
its named fields, and forged, foreign or oversized data parses to None."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import callbacks as cb
from bot.callbacks import KINDS, MAX_LENGTH, VERSION, Callback, encode, parse, parse_as, pattern_for

# One value of every kind, its largest ids where it has some (the longest data).
BIG = 9_999_999_999
EXAMPLES: list[Callback] = [
    cb.ChooseLanguage("kk"),
    cb.PrivacyRead(),
    cb.ChooseCountry("KZ"),
    cb.ChooseCity("almaty"),
    cb.ChooseCity("-"),
    cb.OpenMenu("ost_services"),
    cb.OpenScreen("stories"),
    cb.ServicesPage("ost_services", 999),
    cb.SettingsAction("forget"),
    cb.ConfirmForget("yes"),
    cb.HideChat(),
    cb.News("off"),
    cb.AidRequest("start"),
    cb.AidSend("hygiene"),
    cb.AskConsultant("hepatitis"),
    cb.OpenRequest("ost", urgent=True),
    cb.OpenRequest("ost", urgent=False),
    cb.EndConversation(BIG),
    cb.MakeUrgent(7),
    cb.ContinueInLanguage(BIG, "no"),
    cb.Rate(BIG, 5),
    cb.FollowUpAnswer(BIG, "not_reached"),
    cb.StoryAction("write"),
    cb.StoryAction("send", story_id=BIG),
    cb.SurveyOption(BIG, 99),
    cb.SurveyToggle(BIG, 9999),
    cb.SurveySend(BIG, 0),
    cb.Take(BIG),
    cb.CaseStart(BIG),
    cb.CaseConsent(7, "keep"),
    cb.CaseField(7, "legal_aid"),
    cb.CaseValue(7, "month", "2026-11"),
    cb.Close(BIG, "referred_elsewhere_x"),
    cb.OldSwitch(3),
    cb.PickConversation("release_ok", BIG),
    cb.MessageFor("i"),
    cb.MessageFor("c", conversation_id=BIG),
    cb.TransferToRole(BIG, "psychologist"),
    cb.TransferToColleague(BIG, BIG),
    cb.Refer(BIG, "harm_reduction"),
    cb.DeskRefresh(),
    cb.Join(BIG, "take"),
    cb.AskSupervisor(0),
    cb.CareAnswer("break", BIG),
    cb.SendCanned(BIG),
    cb.SendCanned(BIG, conversation_id=BIG),
    cb.ToggleTopic("humanitarian"),
    cb.ChannelLanguage(BIG, "off"),
    cb.PostEditor(BIG, "noevent"),
    cb.PostPublishing(BIG, "unschedule"),
    cb.PostVersion(BIG, "drop_kk"),
    cb.PostButton(BIG, "url"),
    cb.PostButton(BIG, "node", target="a" * 24),
    cb.PostChannel(BIG, BIG),
    cb.PostFallback(BIG, "none"),
    cb.ReadyPost(BIG, "b" * 24),
    cb.PostList("scheduled"),
    cb.StoryReview(BIG, "identifying"),
    cb.SurveyAction(BIG, "show"),
    cb.SurveyAction(BIG, "multi", question_id=BIG),
]


def test_every_kind_has_an_example() -> None:
    assert {value.kind for value in EXAMPLES} == set(KINDS)
    assert len(KINDS) == 53


@pytest.mark.parametrize("value", EXAMPLES, ids=repr)
def test_every_kind_round_trips_with_its_named_fields(value: Callback) -> None:
    data = encode(value)
    assert data.startswith(f"{VERSION}{value.kind}:")
    assert data.isascii() and len(data.encode()) <= MAX_LENGTH
    parsed = parse(data)
    assert parsed == value and type(parsed) is type(value)
    assert parse_as(data, type(value)) == value
    assert parsed.kind == value.kind and pattern_for(type(value))(data)


def test_named_fields_have_their_types() -> None:
    take = parse("1take:0042")
    assert isinstance(take, cb.Take) and take.conversation_id == 42
    urgent = parse_as("1urg:ost:1", cb.OpenRequest)
    assert urgent == cb.OpenRequest(topic="ost", urgent=True) and urgent.urgent is True
    assert parse_as("1urg:ost:0", cb.OpenRequest) == cb.OpenRequest("ost", urgent=False)
    assert parse_as("1can:5", cb.SendCanned) == cb.SendCanned(canned_id=5, conversation_id=None)
    assert parse_as("1pb:3:pick:consult", cb.PostButton) == cb.PostButton(3, "pick", "consult")
    assert parse_as("1rate:5:4", cb.Rate) == cb.Rate(conversation_id=5, stars=4)
    assert parse_as("1rate:5:4", cb.Take) is None  # another kind


@pytest.mark.parametrize(
    "forged",
    [
        None,
        "",
        "take:5",  # no version
        "2take:5",  # another version
        "1nope:5",  # unknown kind
        "1take",  # no arguments
        "1take:",
        "1take:5:6",  # one too many
        "1take:-5",
        "1take:12345678901",  # eleven digits
        "1take:٣",  # another script's digit, which int() would read
        "1rate:၂:5",
        "1svy:၂:multi",
        "1rate:5:6",
        "1lang:de",
        "1menu:OST",
        "1menu:" + "a" * 60,
        "1urg:ost:2",
        "1pb:3:node:" + "a" * 25,
        "1city:" + "a" * 40 + "x" * 30,  # over 64 bytes
        "1menu:ost" + " " * 60,
        "1for:c:",
    ],
)
def test_forged_or_oversized_data_parses_to_none(forged: str | None) -> None:
    assert parse(forged) is None
    assert not pattern_for(cb.Take)(forged)


@pytest.mark.parametrize(
    "bad",
    [
        cb.Rate(5, stars=6),
        cb.Take(-1),
        cb.Take(10**10),
        cb.ChooseCity("Kyiv"),
        cb.OpenMenu("a" * 25),
        cb.SettingsAction("drop_table"),
    ],
)
def test_values_outside_the_schema_are_refused(bad: Callback) -> None:
    with pytest.raises(ValueError):
        encode(bad)


def test_encode_writes_the_fields_in_order() -> None:
    assert encode(cb.ServicesPage("ost_services", 2)) == "1svc:ost_services:2"
    assert encode(cb.OpenRequest("ost", urgent=True)) == "1urg:ost:1"
    assert encode(cb.SurveyAction(7, "show")) == "1svy:7:show"
    assert encode(cb.SurveyAction(7, "drop", question_id=9)) == "1svy:7:drop:9"
    with pytest.raises(ValueError):
        encode(cb.ChooseLanguage("de"))  # type: ignore[arg-type]


def test_pattern_for_matches_its_kind_and_first_arguments() -> None:
    assert pattern_for(cb.Take)("1take:5") and not pattern_for(cb.Take)("1end:5")
    assert pattern_for(cb.PickConversation, "close")("1on:close:5")
    assert not pattern_for(cb.PickConversation, "close")("1on:release:5")
    assert pattern_for(cb.OpenRequest, "ost", "1")("1urg:ost:1")
    assert not pattern_for(cb.OpenRequest, "ost", "1")("1urg:ost:0")
    with pytest.raises(ValueError):
        pattern_for(Callback)


def _well_formed(kind: str) -> st.SearchStrategy[tuple[str, str]]:
    ascii_ = st.characters(codec="ascii")  # `\d` would also draw other scripts' digits
    return st.tuples(
        st.just(kind), st.from_regex(KINDS[kind].pattern, fullmatch=True, alphabet=ascii_)
    )


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(KINDS)).flatmap(_well_formed))
def test_any_well_formed_data_round_trips(kind_and_rest: tuple[str, str]) -> None:
    """Whatever fits a schema parses, and its value encodes to data that parses back to it."""
    kind, rest = kind_and_rest
    value = parse(f"{VERSION}{kind}:{rest}")
    assert value is not None and value.kind == kind
    assert parse(encode(value)) == value
