"""The demo: a fake Last9 on loopback, and the action's start and stop steps run against it
through ``entrypoint.py``, the way the GitHub runner runs them on a release: inputs in
``INPUT_*`` variables, outputs, state and exports in file-command files, a release event payload.

Needs only what the action's image has (requests, PyJWT, actions-toolkit without PyGithub):
``scripts/demo`` makes that environment in ``.venv-demo`` and runs this file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.github_run import RELEASE_EVENT, RUNNER_ENV, read_file_command  # noqa: E402


def run_step(
    folder: Path, number: int, inputs: Mapping[str, str], env: Mapping[str, str]
) -> tuple[int, str, dict[str, str], dict[str, str]]:
    """One step: ``python entrypoint.py`` with the runner's variables; (exit, log, outputs, env)."""
    files = {name: folder / f"{name.lower()}_{number}" for name in ("OUTPUT", "STATE", "ENV")}
    files["STEP_SUMMARY"] = folder / f"summary_{number}"
    for path in files.values():
        path.touch()
    event = folder / "event.json"
    event.write_text(json.dumps(RELEASE_EVENT), encoding="utf-8")
    step_env = {
        "PATH": os.environ.get("PATH", ""),
        **{k: v for k, v in RUNNER_ENV.items() if k != "LAST9_INSTANT_RETRIES"},
        **env,
        **{f"GITHUB_{name}": str(path) for name, path in files.items()},
        "GITHUB_EVENT_PATH": str(event),
        **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "entrypoint.py")],
        capture_output=True,
        text=True,
        env=step_env,
        timeout=120,
        check=False,
    )
    return (
        done.returncode,
        done.stdout + done.stderr,
        read_file_command(files["OUTPUT"]),
        read_file_command(files["ENV"]),
    )


def show(title: str, returncode: int, log: str, outputs: Mapping[str, str]) -> None:
    """A step's log as the runner shows it, without the workflow commands it hides."""
    print(f"\n--- {title}: exit code {returncode}, status {outputs.get('status')}")
    for line in log.splitlines():
        if not line.startswith(("::add-mask::", "::group::", "::endgroup::")):
            print(f"    {line}")


def demo() -> int:
    """Start the fake, run start -> deploy -> stop, say what Last9 received."""
    from tests.fake_last9 import FakeLast9  # noqa: PLC0415  (after --help, which needs nothing)

    with FakeLast9(org="acme") as fake, tempfile.TemporaryDirectory() as tmp:
        print(f"Fake Last9 API listening on {fake.url} (organization `acme`)")
        inputs = {
            "org": "acme",
            "refresh-token": fake.mint("refresh", ttl=None),
            "api-url": fake.url,
            "environment": "production",
        }
        code, log, start, exported = run_step(Path(tmp), 1, {**inputs, "event-state": "start"}, {})
        show("step 1: mark the start (the payload is printed by the step)", code, log, start)
        print("\n--- step 2: ./deploy.sh (pretend)")
        time.sleep(1)
        stop_inputs = {
            **inputs,
            "event-state": "stop",
            "access-token": start.get("access-token", ""),
            "outcome": "success",
        }
        code2, log2, stop, _ = run_step(Path(tmp), 3, stop_inputs, exported)
        show("step 3: mark the stop", code2, log2, stop)
        events = fake.events()
        print(f"\nLast9 received {len(events)} change events (the payloads above):")
        for event in events:
            attributes = event["attributes"]
            extra = ", ".join(
                f"{key} {attributes[key]}"
                for key in ("duration_seconds", "outcome")
                if key in attributes
            )
            print(
                f"    {event['event_state']:5} {event['event_name']} "
                f"deployment_id {attributes.get('deployment_id')}" + (f", {extra}" if extra else "")
            )
        print(f"Requests: {len(fake.received)}, token exchanges: {fake.exchanges()}")
        ok = code == 0 and code2 == 0 and len(events) == 2
        print("Demo OK: start and stop recorded." if ok else "Demo FAILED.")
        return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Parse the (only) options, then run the demo."""
    parser = argparse.ArgumentParser(
        prog="scripts/demo",
        description="Send a start and a stop change event through the action's real entrypoint "
        "to a fake Last9 API on loopback, the way the GitHub runner runs it on a release, and "
        "show what Last9 received. Needs nothing but Python 3.11+ and this checkout; the first "
        "run makes .venv-demo with the action's own dependencies.",
    )
    parser.parse_args(argv)
    return demo()


if __name__ == "__main__":
    sys.exit(main())
