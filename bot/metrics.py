"""Process-local counters and the state of periodic jobs, for /healthz and /metrics.

Deliberately tiny and dependency-free: a handful of counters is all an operator needs to see
that updates arrive, handlers do not fail, the outbox drains and each periodic job still runs.
The numbers are per process (several processes on PostgreSQL are scraped one by one); what is
shared between processes (outbox backlog, dead letters) is read from the database at scrape
time, never kept here. Nothing here carries a person's id or text.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class JobState:
    """How one periodic job is doing, as the maintenance loop last saw it."""

    name: str
    last_success: float | None = None  # wall-clock seconds (time.time())
    last_failure: float | None = None
    consecutive_failures: int = 0
    failures_total: int = 0
    runs_total: int = 0
    next_run: float = 0.0  # monotonic; backoff pushes it out after failures
    alerted: bool = False  # supervisors were told it is failing; reset on success

    @property
    def failing(self) -> bool:
        return self.consecutive_failures > 0


@dataclass(frozen=True)
class WaitSummary:
    """Waits in seconds: nearest-rank quantiles (0.5, 0.9, 0.99), their sum and count."""

    quantiles: dict[float, float]
    total: float
    count: int


@dataclass(frozen=True)
class QueueStats:
    """The queue as the database has it at scrape time (bot/services/queue_stats.py)."""

    waiting: dict[bool, int]  # urgent -> conversations waiting
    oldest_wait_seconds: dict[bool, float]  # urgent -> age of the oldest waiting (0: none)
    wait_to_take: WaitSummary  # created -> taken, of the takes in the last `window_seconds`
    window_seconds: float


@dataclass
class Metrics:
    updates_total: int = 0
    handler_errors_total: int = 0
    webhook_rejected_total: dict[int, int] = field(default_factory=dict)  # HTTP status -> count
    jobs: dict[str, JobState] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def job(self, name: str) -> JobState:
        if name not in self.jobs:
            self.jobs[name] = JobState(name)
        return self.jobs[name]

    def webhook_rejected(self, status: int) -> None:
        self.webhook_rejected_total[status] = self.webhook_rejected_total.get(status, 0) + 1

    def render(
        self, *, outbox: dict[str, int] | None = None, queue: QueueStats | None = None
    ) -> str:
        """Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []

        def metric(
            name: str, kind: str, help_text: str, samples: Iterable[tuple[str, float]]
        ) -> None:
            lines.append(f"# HELP {name} {help_text}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

        metric("peerline_updates_total", "counter", "Updates received.", [("", self.updates_total)])
        metric(
            "peerline_handler_errors_total",
            "counter",
            "Errors raised by update handlers.",
            [("", self.handler_errors_total)],
        )
        metric(
            "peerline_webhook_rejected_total",
            "counter",
            "Webhook requests refused, by HTTP status.",
            [(f'{{status="{s}"}}', n) for s, n in sorted(self.webhook_rejected_total.items())],
        )
        if outbox is not None:
            metric(
                "peerline_outbox_messages",
                "gauge",
                "Outbox rows by status (pending: backlog; dead: dead letters).",
                [(f'{{status="{s}"}}', n) for s, n in sorted(outbox.items())],
            )
        if queue is not None:
            lines.extend(_queue_lines(queue))
        jobs = sorted(self.jobs.values(), key=lambda j: j.name)
        metric(
            "peerline_job_last_success_timestamp_seconds",
            "gauge",
            "When each periodic job last succeeded (0: not yet).",
            [(f'{{job="{j.name}"}}', j.last_success or 0) for j in jobs],
        )
        metric(
            "peerline_job_consecutive_failures",
            "gauge",
            "Failures of each periodic job since its last success.",
            [(f'{{job="{j.name}"}}', j.consecutive_failures) for j in jobs],
        )
        metric(
            "peerline_job_failures_total",
            "counter",
            "Failures of each periodic job.",
            [(f'{{job="{j.name}"}}', j.failures_total) for j in jobs],
        )
        metric(
            "peerline_process_start_time_seconds",
            "gauge",
            "When this process started.",
            [("", self.started)],
        )
        return "\n".join(lines) + "\n"


def _queue_lines(queue: QueueStats) -> list[str]:
    def urgent(flag: bool) -> str:
        return f'{{urgent="{str(flag).lower()}"}}'

    name = "peerline_queue_wait_to_take_seconds"
    hours = _number(queue.window_seconds / 3600)
    summary = queue.wait_to_take
    return [
        "# HELP peerline_queue_waiting Conversations waiting to be taken, by urgency.",
        "# TYPE peerline_queue_waiting gauge",
        *(f"peerline_queue_waiting{urgent(f)} {queue.waiting[f]}" for f in (False, True)),
        "# HELP peerline_queue_oldest_wait_seconds How long the oldest waiting conversation has"
        " waited, by urgency (0: none waiting).",
        "# TYPE peerline_queue_oldest_wait_seconds gauge",
        *(
            f"peerline_queue_oldest_wait_seconds{urgent(f)} {_number(queue.oldest_wait_seconds[f])}"
            for f in (False, True)
        ),
        f"# HELP {name} From request to take, over the conversations taken in the last"
        f" {hours} h (a sliding window: sum and count can fall).",
        f"# TYPE {name} summary",
        *(f'{name}{{quantile="{q}"}} {_number(v)}' for q, v in sorted(summary.quantiles.items())),
        f"{name}_sum {_number(summary.total)}",
        f"{name}_count {summary.count}",
    ]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
