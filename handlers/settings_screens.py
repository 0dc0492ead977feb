"""A client's first choices and settings: language (with the privacy notice), country,
city, and the settings screen that changes them."""

from __future__ import annotations

from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from bot.callbacks import (
    ChooseCity,
    ChooseCountry,
    ChooseLanguage,
    News,
    PrivacyRead,
    SettingsAction,
    encode,
)
from bot.i18n import N_, Translator
from bot.languages import LANGUAGES
from bot.runtime import Runtime
from bot.services.clients import ClientState
from handlers.common import escape
from handlers.screens import Screen, clear_chat_button, nav_row

# Autonyms: a person must recognise their language before anything is translated.
LANGUAGE_NAMES = {"ru": "Русский", "uk": "Українська", "kk": "Қазақша", "en": "English"}
COUNTRY_NAMES = {
    "RU": N_("Russia"),
    "UA": N_("Ukraine"),
    "KZ": N_("Kazakhstan"),
    "other": N_("Another country"),
}


def language_picker(suggested: str) -> Screen:
    text = "Выберите язык · Оберіть мову · Тілді таңдаңыз · Choose your language"
    order = sorted(LANGUAGES, key=lambda code: code != suggested)  # stable: the rest in order
    rows = [
        [Button(LANGUAGE_NAMES[code], callback_data=encode(ChooseLanguage(language=code)))]
        for code in order
    ]
    return text, Keyboard(rows)


def privacy_notice(_: Translator) -> Screen:
    text = _.gettext(
        "<b>Your privacy</b>\n"
        "• We do not store your name, username, phone number or Telegram ID. "
        "The bot knows you only by a random code.\n"
        "• We store your language, country and city, so that the menus fit you, and what you "
        "ask us for (news, a reminder, a story you send) only as long as it is needed.\n"
        "• Consultants never see who you are.\n"
        "• Chats with bots are not end-to-end encrypted: Telegram can see them. "
        "Do not write your name, address or anything that identifies you.\n"
        "• We never write to you from personal accounts.\n"
        "• /forget deletes everything we store about you, at any time."
    )
    return text, Keyboard(
        [[Button(_.gettext("Understood"), callback_data=encode(PrivacyRead(answer="ok")))]]
    )


def country_picker(_: Translator) -> Screen:
    rows = [
        [Button(_.gettext(name), callback_data=encode(ChooseCountry(country=code)))]
        for code, name in COUNTRY_NAMES.items()
    ]
    return _.gettext("Which country are you in? We show help and services for it."), Keyboard(rows)


def city_picker(_: Translator, runtime: Runtime, client: ClientState) -> Screen:
    language = client.language or runtime.i18n.default
    popular = runtime.cities.in_country(client.country or "other")[:8]
    buttons = [
        Button(
            runtime.cities.name(city.key, language), callback_data=encode(ChooseCity(city=city.key))
        )
        for city in popular
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(_.gettext("Skip"), callback_data=encode(ChooseCity(city="-")))])
    text = _.gettext(
        "Which city are you in? Pick it below or type its name. "
        "This is optional: it only helps us show services near you."
    )
    return text, Keyboard(rows)


def settings_screen(_: Translator, runtime: Runtime, client: ClientState, note: str = "") -> Screen:
    language = client.language or runtime.i18n.default
    city = runtime.cities.name(client.city, language) if client.city else _.gettext("not set")
    country = _.gettext(COUNTRY_NAMES.get(client.country or "other", COUNTRY_NAMES["other"]))
    intro = runtime.content.screen("settings", language, client.country).text
    text = (
        (note + "\n\n" if note else "")
        + intro
        + "\n\n"
        + _.gettext(
            "Language: %(language)s\nCountry: %(country)s\nCity: %(city)s",
            language=LANGUAGE_NAMES[language],
            country=escape(country),
            city=escape(city),
        )
        + "\n"
        + (_.gettext("News: on") if client.subscribed else _.gettext("News: off"))
        + "\n\n"
        + _.gettext(
            "🧹 Clear this chat (/hide) deletes every message of the last 48 hours here, ours "
            "and yours, at once and without a trace. Telegram does not let a bot delete older "
            "ones: to remove those, delete the chat in Telegram."
        )
    )
    news = (
        Button(_.gettext("Unsubscribe from news"), callback_data=encode(News(choice="off")))
        if client.subscribed
        else Button(_.gettext("Subscribe to news"), callback_data=encode(News(choice="on")))
    )
    rows = [
        [Button(_.gettext("Change language"), callback_data=encode(SettingsAction(action="lang")))],
        [
            Button(
                _.gettext("Change country"), callback_data=encode(SettingsAction(action="country"))
            )
        ],
        [Button(_.gettext("Change city"), callback_data=encode(SettingsAction(action="city")))],
        [news],
        [clear_chat_button(_)],
        [
            Button(
                _.gettext("Delete all my data"),
                callback_data=encode(SettingsAction(action="forget")),
            )
        ],
        nav_row(_, None),
    ]
    return text, Keyboard(rows)
