"""The outbox: every Bot API call the bot must make, and the workers that hold its leases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.dbtypes import CleanString, Id, UtcDateTime
from bot.models.base import Base, one_of

# pending (due, leased or waiting to retry) -> sent, or dead (given up: a dead letter).
OUTBOX_STATUSES = ("pending", "sent", "dead")


class Outbox(Base):
    """Everything the bot must send as a consequence of a recorded event; a worker delivers it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "not_before"),
        Index("ix_outbox_sent", "recipient", "sent_message_id"),
        # The claim's "no earlier pending row for this recipient" check: without it, a
        # broadcast of thousands of rows makes every claim scan all of them (bench/broadcast.py).
        Index("ix_outbox_recipient_pending", "recipient", "status", "priority"),
        one_of("status", OUTBOX_STATUSES),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    status: Mapped[str] = mapped_column(CleanString(8), default="pending")  # pending | sent | dead
    priority: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 first; broadcasts later
    method: Mapped[str] = mapped_column(CleanString(32))  # a Bot API method, e.g. copyMessage
    chat_ref: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted recipient chat id
    # "client:<id>" / "staff:<id>" (database ids): finds what a reply or an edit refers to,
    # and what /forget must delete, without decrypting every chat_ref.
    recipient: Mapped[str] = mapped_column(CleanString(24))
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # encrypted JSON parameters
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    # A channel post or news to a subscriber: its delivery is that post's progress.
    post_id: Mapped[int | None] = mapped_column(
        ForeignKey("posts.id", ondelete="CASCADE"), index=True
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    not_before: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    last_error: Mapped[str | None] = mapped_column(CleanString(200))
    sent_message_id: Mapped[int | None] = mapped_column(BigInteger)  # in the recipient's chat
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), server_default=func.now())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The worker (`DeliveryWorker.id`) whose lease this is, while leased; a restarted process
    # frees a dead worker's leases at once (bot/delivery.py). No foreign key: the row that
    # frees them also deletes the worker, in one statement order we control.
    leased_by: Mapped[int | None] = mapped_column(Id, index=True)
    # A relayed text "header\nwords" that may take more texts of its writer while it waits,
    # and be sent together with the texts queued behind it (bot/delivery_combine.py): who
    # wrote it, as "<conversation>:<author>:<staff id or 0>" ("!" at the end: never sent
    # together with another conversation's). None: a row that is sent as it is.
    section: Mapped[str | None] = mapped_column(Text)


class DeliveryWorkerRow(Base):
    """A running outbox worker: its heartbeat says whether the leases it holds are still live."""

    __tablename__ = "delivery_workers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())
