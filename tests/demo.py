"""The demo: a fake Last9 on loopback, and the action's start and stop steps run against it
through entrypoint.py, exactly as the GitHub runner would run them on a release.

    scripts/demo            # or: python -m tests.demo
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from tests.fake_last9 import FakeLast9
from tests.runner import Job, StepResult


def _show(title: str, result: StepResult) -> None:
    print(f"\n--- {title}: exit code {result.returncode}, status {result.outputs.get('status')}")
    for line in result.stdout.splitlines():
        if line.startswith(("::add-mask::", "::group::", "::endgroup::")):
            continue
        print(f"    {line}")


def main() -> int:
    """Start the fake, run start → deploy → stop, print what Last9 received."""
    with FakeLast9(org="acme") as fake, tempfile.TemporaryDirectory() as tmp:
        print(f"Fake Last9 API listening on {fake.url} (organization `acme`)")
        job = Job(Path(tmp))
        inputs = {
            "org": "acme",
            "refresh-token": fake.mint("refresh", ttl=None),
            "api-url": fake.url,
            "environment": "production",
        }
        start = job.run({**inputs, "event-state": "start"})
        _show("step 1: mark the start", start)
        print("\n--- step 2: ./deploy.sh (pretend)")
        time.sleep(1)
        stop = job.run(
            {
                **inputs,
                "event-state": "stop",
                "access-token": start.outputs.get("access-token", ""),
                "outcome": "success",
            }
        )
        _show("step 3: mark the stop", stop)
        print(f"\nLast9 received {len(fake.events())} change events:")
        for event in fake.events():
            print(json.dumps(event, indent=2))
        print(f"Requests: {len(fake.received)}, token exchanges: {fake.exchanges()}")
        ok = start.returncode == 0 and stop.returncode == 0 and len(fake.events()) == 2
        print("Demo OK: start and stop recorded." if ok else "Demo FAILED.")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
