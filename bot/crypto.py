"""Keys derived from PEERLINE_SECRET_KEY: pseudonymous client ids and encryption at rest.

A raw Telegram id is an identity (lookup services join it with leaked data), so the database
only ever holds an HMAC of it, and the chat id the bot must write back to only encrypted.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_SURROGATE = re.compile("[\ud800-\udfff]")
_VERSION = b"\x01"  # first byte of every ciphertext, so keys can be rotated later


def _derive(secret: str, label: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"peerline", info=label).derive(
        secret.encode("utf-8")
    )


def derive_key(secret: str, label: bytes) -> bytes:
    """A 32-byte key of its own for `label` (e.g. b"backup v1"), derived from the secret."""
    return _derive(secret, label)


class Keys:
    """HMAC and AES-GCM keys, each derived from the one secret with its own label."""

    def __init__(self, secret: str) -> None:
        self._hmac_key = _derive(secret, b"client-id v1")
        # A separate key for staff, so a seized database cannot link a volunteer's staff row
        # to their own history as a client (many peer consultants are clients too).
        self._staff_hmac_key = _derive(secret, b"staff-id v1")
        self._channel_hmac_key = _derive(secret, b"channel-id v1")
        self._vote_hmac_key = _derive(secret, b"survey-vote v1")
        self._aead = AESGCM(_derive(secret, b"at-rest v1"))

    def client_key(self, telegram_user_id: int) -> str:
        """Stable pseudonymous id of a Telegram user (hex HMAC-SHA256)."""
        return hmac.new(self._hmac_key, str(telegram_user_id).encode(), hashlib.sha256).hexdigest()

    def staff_key(self, telegram_user_id: int) -> str:
        """Stable pseudonymous id of a staff member; unrelated to their client_key."""
        return hmac.new(
            self._staff_hmac_key, str(telegram_user_id).encode(), hashlib.sha256
        ).hexdigest()

    def channel_key(self, chat_id: int) -> str:
        """Stable id of a channel the organisation posts to (kept like every other chat id:
        a database that lists the channels by id would tie the organisation to them)."""
        return hmac.new(self._channel_hmac_key, str(chat_id).encode(), hashlib.sha256).hexdigest()

    def voter_token(self, client_key: str, question_id: int) -> str:
        """Who answered a survey question, only to refuse a second answer: without the secret
        key it cannot be tied to the client row, and it is different for every question."""
        message = f"{client_key}:{question_id}".encode()
        return hmac.new(self._vote_hmac_key, message, hashlib.sha256).hexdigest()

    def recipient_token(self, client_key: str, survey_id: int) -> str:
        """That a survey was sent to someone, so only they may answer it; like `voter_token`,
        unlinkable to the client row without the secret key, and different per survey."""
        message = f"recipient:{client_key}:{survey_id}".encode()
        return hmac.new(self._vote_hmac_key, message, hashlib.sha256).hexdigest()

    def encrypt(self, plaintext: bytes, *, purpose: bytes) -> bytes:
        """Encrypt; `purpose` is bound as associated data so a value cannot be moved elsewhere."""
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, purpose)

    def encrypt_text(self, text: str, *, purpose: bytes) -> bytes:
        """Encrypt words someone sent. JSON (so an update) may carry a lone surrogate
        ("\\ud800"), which UTF-8 cannot encode: it is stored as U+FFFD rather than failing and
        losing the rest of the message."""
        return self.encrypt(_SURROGATE.sub("\ufffd", text).encode("utf-8"), purpose=purpose)

    def decrypt(self, blob: bytes, *, purpose: bytes) -> bytes:
        if blob[:1] != _VERSION:
            raise ValueError("unknown ciphertext version")
        return self._aead.decrypt(blob[1:13], blob[13:], purpose)

    def encrypt_chat_id(self, chat_id: int) -> bytes:
        return self.encrypt(str(chat_id).encode(), purpose=b"chat-id")

    def decrypt_chat_id(self, blob: bytes) -> int:
        return int(self.decrypt(blob, purpose=b"chat-id"))

    def webhook_secret(self) -> str:
        """The X-Telegram-Bot-Api-Secret-Token, when none is configured."""
        return hmac.new(self._hmac_key, b"webhook-secret", hashlib.sha256).hexdigest()

    def webhook_path(self) -> str:
        """An unguessable but stable URL path for the webhook."""
        return "tg-" + hmac.new(self._hmac_key, b"webhook-path", hashlib.sha256).hexdigest()[:32]
