"""One outbox row as one Bot API call, through python-telegram-bot.

Parameters are stored as plain Bot API JSON (bot/services/outbox.py). The call goes through
PTB's typed method, so its request handling (and the trace recorder, bot/trace_recorder.py)
applies, but only the method's required arguments pass through PTB's signature; everything
else goes as `api_kwargs`, untouched. A method PTB does not know is sent as it is.
"""

from __future__ import annotations

import inspect
import re
from typing import Any

from telegram import Bot

from bot.services.outbox_claim import Delivery

_API_NAME = re.compile(r"[a-z]+(?:[A-Z][a-z]*)+")


class BotApiCall:
    """Makes the call a claimed row describes; remembers each method's signature."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        self._signatures: dict[str, inspect.Signature | None] = {}

    async def __call__(self, delivery: Delivery) -> Any:
        signature = self._signature(delivery.method)
        arguments = with_chat(delivery)
        if signature is None:
            return await self._bot.do_api_request(delivery.method, api_kwargs=arguments)
        kwargs: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name, value in arguments.items():
            parameter = signature.parameters.get(name)
            if parameter is not None and parameter.default is inspect.Parameter.empty:
                kwargs[name] = value
            else:
                extra[name] = value
        method = getattr(self._bot, delivery.method)
        return await method(**kwargs, api_kwargs=extra or None)

    def _signature(self, method: str) -> inspect.Signature | None:
        if method not in self._signatures:
            # Only Bot API names (sendMessage, copyMessage...), never e.g. "initialize".
            function = getattr(self._bot, method, None) if _API_NAME.fullmatch(method) else None
            self._signatures[method] = (
                inspect.signature(function)
                if callable(function) and inspect.iscoroutinefunction(function)
                else None
            )
        return self._signatures[method]


def with_chat(delivery: Delivery) -> dict[str, Any]:
    """The call's parameters with its chat: as `chat_id`, or, for a chat-scoped command menu
    (setMyCommands / deleteMyCommands take no chat_id), inside the `scope`."""
    scope = delivery.params.get("scope")
    if isinstance(scope, dict) and scope.get("type") == "chat":
        return {**delivery.params, "scope": {**scope, "chat_id": delivery.chat_id}}
    return {"chat_id": delivery.chat_id, **delivery.params}


def message_id(result: Any) -> int | None:
    """The message id from a send/copy/edit result (first of a list), if the call made one."""
    if isinstance(result, (list, tuple)):
        result = result[0] if result else None
    if isinstance(result, dict):
        value = result.get("message_id")
    else:
        value = getattr(result, "message_id", None)
    return value if isinstance(value, int) else None
