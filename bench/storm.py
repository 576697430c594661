"""A storm: many jobs at once against a shared rate limit, and what became of each.

A matrix of ``--jobs`` jobs (40) starts together, each the command line's ``start`` with its own
deployment id and ``--timeout`` (30 s), against the fake Last9 limited to
``--per-second`` events (5) and answering ``429`` with ``Retry-After: --retry-after`` (2) over
it. Printed: how many landed, the attempts (PUTs) per job, the p50/p95/max time from the
storm's start to each job's end, and the shortest time between a ``429`` and that job's next
attempt, which must never be less than ``Retry-After``.

Each job is a thread running the command line's ``main`` (the real code, its own retry schedule
and random jitter), released together by a barrier: 40 runners start at the same instant,
while 40 processes on a two-core machine would take seconds to start and spread the storm by
themselves. Run it with ``bench/run`` (a section of the report) or alone:
``.venv/bin/python -m bench.storm``. It prints figures and exits 0 unless the storm itself
breaks; it is not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from tests.fake_last9 import FakeLast9

ORG = "acme"


@dataclass(frozen=True)
class Storm:
    """What the storm left behind."""

    jobs: int
    landed: int
    exit_codes: dict[int, int]
    attempts: list[int]
    durations: list[float]
    shortest_wait: float | None
    retry_after: float
    timeout: float

    def lines(self) -> list[str]:
        """The figures, as Markdown list items."""
        durations = sorted(self.durations)
        p95 = durations[max(0, round(0.95 * len(durations)) - 1)]
        codes = ", ".join(f"{code}: {n}" for code, n in sorted(self.exit_codes.items()))
        shortest = "none" if self.shortest_wait is None else f"{self.shortest_wait:.2f} s"
        return [
            f"landed: {self.landed} of {self.jobs} within the {self.timeout:g} s timeout "
            f"(exit codes {codes})",
            f"attempts per job: median {statistics.median(self.attempts):g}, "
            f"max {max(self.attempts)}, total {sum(self.attempts)}",
            f"time to the job's end: p50 {statistics.median(durations):.1f} s, "
            f"p95 {p95:.1f} s, max {durations[-1]:.1f} s",
            f"shortest wait after a 429: {shortest} (Retry-After: {self.retry_after:g} s)",
        ]


def run_storm(
    *,
    jobs: int = 40,
    per_second: int = 5,
    retry_after: int = 2,
    timeout: int = 30,
) -> Storm:
    """Start ``jobs`` jobs at once against a rate-limited fake; what became of them."""
    from last9_change_event.cli import command as cli  # noqa: PLC0415 - after the path is set

    with FakeLast9(org=ORG) as fake, _quiet():
        fake.limit_events(per_second, str(retry_after))
        env = {
            "LAST9_ACCESS_TOKEN": fake.mint("access", ttl=3600),
            "LAST9_ORG": ORG,
            "LAST9_API_URL": fake.url,
        }
        barrier = threading.Barrier(jobs + 1)
        codes: dict[int, int] = {}
        ended: dict[int, float] = {}

        def job(n: int) -> None:
            argv = ["start", "--deployment-id", f"job-{n}", "--ci-attributes", "false",
                    "--timeout", str(timeout), "--fail-on", "any"]  # fmt: skip
            barrier.wait()
            codes[n] = cli.main(argv, env=env)
            ended[n] = time.monotonic() - started

        threads = [threading.Thread(target=job, args=(n,)) for n in range(jobs)]
        for thread in threads:
            thread.start()
        started = time.monotonic()
        barrier.wait()
        for thread in threads:
            thread.join()
        received = list(fake.received)
        landed = {event["attributes"]["deployment_id"] for event in fake.events()}
    tries: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for request in received:
        if request.method == "PUT" and isinstance(request.json, dict):
            tries[request.json["attributes"]["deployment_id"]].append((request.at, request.status))
    waits = [
        later[0] - earlier[0]
        for attempts in tries.values()
        for earlier, later in itertools.pairwise(attempts)
        if earlier[1] == 429
    ]
    counted: dict[int, int] = defaultdict(int)
    for code in codes.values():
        counted[code] += 1
    return Storm(
        jobs=jobs,
        landed=len(landed),
        exit_codes=dict(counted),
        attempts=[len(tries[f"job-{n}"]) for n in range(jobs)],
        durations=list(ended.values()),
        shortest_wait=min(waits) if waits else None,
        retry_after=float(retry_after),
        timeout=float(timeout),
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The jobs' logs and results go nowhere (the figures come from the fake)."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Run one storm and print its figures."""
    parser = argparse.ArgumentParser(prog="bench.storm", description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40)
    parser.add_argument("--per-second", type=int, default=5)
    parser.add_argument("--retry-after", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=30)
    args = parser.parse_args(argv)
    storm = run_storm(
        jobs=args.jobs,
        per_second=args.per_second,
        retry_after=args.retry_after,
        timeout=args.timeout,
    )
    print(f"# A storm: {args.jobs} jobs, {args.per_second} events/s, 429 + Retry-After\n")
    for line in storm.lines():
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
