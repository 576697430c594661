"""Measure the action as the runner runs it, next to a bare client and curl, and print the figures.

Run it with ``bench/run``: that script installs the tools (hyperfine, GNU time, curl), the
project's ``.venv`` (this driver runs there) and an interpreter holding exactly what the image
installs (``requirements.txt``, no PyGithub, no cryptography), which runs every measured process.

What it measures, against a fake Last9 served from this process on loopback:

- wall time (hyperfine, several interleaved rounds, medians) and peak memory (GNU time's maximum
  resident set size) of ``python entrypoint.py`` with the runner's ``INPUT_*`` variables and
  file-command files, on two paths: a valid access token (one PUT) and a refresh token only
  (exchange, then PUT); the same for ``bench/bare_client.py`` and for ``curl``;
- the HTTP requests, TCP connections and token exchanges the fake saw for one run of each;
- ``python -X importtime``: where the action's start-up time goes, by package;
- the image: what it adds over its base, and how long it takes to build, with podman.

A benchmark prints figures and never fails because the machine was slow: it exits 0 unless the
benchmark itself breaks (a request the fake refused, a tool that crashed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.fake_last9 import FakeLast9
from tests.runner import RELEASE_EVENT, RUNNER_ENV, action_defaults, read_file_command

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "entrypoint.py"
BARE_CLIENT = ROOT / "bench" / "bare_client.py"

#: The targets of issue 6.
WALL_RATIO_TARGET = 1.3
RSS_TARGET_MIB = 40.0
IMAGE_TARGET_MB = 8.0

ORG = "acme"
MIB = 1024 * 1024
MB = 1000 * 1000

#: Top-level packages that are not the standard library, as ``-X importtime`` names them.
THIRD_PARTY = (
    "last9_change_event",
    "actions_toolkit",
    "requests",
    "urllib3",
    "charset_normalizer",
    "idna",
    "certifi",
    "jwt",
)


class BenchError(RuntimeError):
    """The benchmark itself broke (not: the machine was slow)."""


# --- running one process the way the runner does ---------------------------------------------


@dataclass(frozen=True)
class Step:
    """The environment of one step: runner variables, ``INPUT_*``, fresh file-command files."""

    env: dict[str, str]
    output: Path


def make_step(tmp: Path, inputs: Mapping[str, str]) -> Step:
    """A step's environment, built as tests/runner.py builds it (and the runner does)."""
    commands = tmp / "_runner_file_commands"
    commands.mkdir(parents=True, exist_ok=True)
    files = {name: commands / f"{name.lower()}_{uuid.uuid4()}" for name in _FILE_COMMANDS}
    for path in files.values():
        path.touch()
    event_path = tmp / "_github_workflow" / "event.json"
    event_path.parent.mkdir(parents=True, exist_ok=True)
    event_path.write_text(json.dumps(RELEASE_EVENT), encoding="utf-8")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp / "_github_home"),
        **RUNNER_ENV,
        **{f"GITHUB_{name}": str(path) for name, path in files.items()},
        "GITHUB_EVENT_PATH": str(event_path),
    }
    merged = {**action_defaults(), **inputs}
    env.update({f"INPUT_{name.upper()}": value for name, value in merged.items()})
    return Step(env, files["OUTPUT"])


_FILE_COMMANDS = ("OUTPUT", "STATE", "ENV", "STEP_SUMMARY")


@dataclass(frozen=True)
class Counts:
    """What the fake saw during one run."""

    requests: int
    connections: int
    exchanges: int


def counted(fake: FakeLast9, argv: Sequence[str], env: Mapping[str, str]) -> Counts:
    """Run ``argv`` once and return what the fake saw; every answer must have been a 200."""
    fake.reset()
    done = subprocess.run(
        argv, env=dict(env), capture_output=True, text=True, timeout=60, check=False
    )
    statuses = [received.status for received in fake.received]
    if done.returncode != 0 or any(status != 200 for status in statuses):
        raise BenchError(
            f"{shlex.join(argv)} exited {done.returncode}, the fake answered {statuses}:\n"
            f"{done.stdout}{done.stderr}"
        )
    return Counts(len(fake.received), fake.connections(), fake.exchanges())


# --- the programs compared -------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One path through the action: its inputs, what curl sends for it, what the fake should see."""

    key: str
    title: str
    inputs: dict[str, str]
    curl: list[str]
    expected: Counts


def make_paths(fake: FakeLast9, python: str, tmp: Path) -> list[Scenario]:
    """The valid-token path (one PUT) and the expired-token path (exchange, then PUT)."""
    refresh = fake.mint("refresh", ttl=None)
    access = fake.mint("access", ttl=3600)
    common = {"org": ORG, "api-url": fake.url, "environment": "production"}
    valid = {**common, "refresh-token": refresh, "access-token": access, "event-state": "stop"}
    expired = {**common, "refresh-token": refresh}

    # The body the action sends, from one dry run: curl sends exactly that.
    step = make_step(tmp, {**valid, "dry-run": "true"})
    subprocess.run(
        [python, str(ENTRYPOINT)], env=step.env, capture_output=True, check=True, timeout=60
    )
    body = tmp / "event.json"
    body.write_text(read_file_command(step.output)["payload"], encoding="utf-8")
    exchange = tmp / "exchange.json"
    exchange.write_text(json.dumps({"refresh_token": refresh}), encoding="utf-8")
    headers = tmp / "headers.txt"  # curl reads the token from a file, not from argv
    headers.write_text(
        f"X-LAST9-API-TOKEN: Bearer {access}\nContent-Type: application/json\n", encoding="utf-8"
    )
    curl = shutil.which("curl") or "curl"
    put = [curl, "-sSf", "-o", "/dev/null", "-X", "PUT", "-H", f"@{headers}"]
    put += ["--data-binary", f"@{body}", f"{fake.url}/api/v4/organizations/{ORG}/change_events"]
    post = [curl, "-sSf", "-o", "/dev/null", "-H", "Content-Type: application/json"]
    post += ["--data-binary", f"@{exchange}", f"{fake.url}/api/v4/oauth/access_token"]
    # One curl process, one connection: the exchange, then (--next) the PUT. curl cannot read
    # the new token from the answer, so it sends one known in advance: the transport's floor.
    return [
        Scenario("valid", "valid token", valid, put, Counts(1, 1, 0)),
        Scenario("expired", "expired token", expired, [*post, "--next", *put[1:]], Counts(2, 1, 1)),
    ]


def programs(python: str, path: Scenario) -> dict[str, list[str]]:
    """The commands compared on one path, by row name."""
    return {
        "action": [python, str(ENTRYPOINT)],
        "bare client": [python, str(BARE_CLIENT)],
        "curl": path.curl,
    }


# --- wall time, memory ------------------------------------------------------------------------


def hyperfine(
    commands: Mapping[str, Sequence[str]], env: Mapping[str, str], runs: int, tmp: Path
) -> dict[str, list[float]]:
    """Each command's run times in seconds, from one hyperfine call (no shell in between)."""
    export = tmp / f"hyperfine-{uuid.uuid4()}.json"
    args = [shutil.which("hyperfine") or "hyperfine", "-N", "--style", "none", "--warmup", "2"]
    args += ["--runs", str(runs), "--export-json", str(export)]
    for name, argv in commands.items():
        args += ["-n", name, shlex.join(argv)]
    done = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"hyperfine failed:\n{done.stdout}{done.stderr}")
    results = json.loads(export.read_text(encoding="utf-8"))["results"]
    return {result["command"]: list(result["times"]) for result in results}


def max_rss_bytes(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Peak resident memory of one run, as GNU time reports it."""
    done = subprocess.run(
        ["/usr/bin/time", "-v", *argv],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise BenchError(f"/usr/bin/time -v {shlex.join(argv)} failed:\n{done.stderr}")
    return int(found.group(1)) * 1024


# --- import time ------------------------------------------------------------------------------

_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)\s*$")


@dataclass(frozen=True)
class ImportProfile:
    """One ``-X importtime`` run: microseconds by package, and top-level imports' cumulative."""

    by_package: dict[str, int]
    top_level: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_package.values())


def import_profile(argv: Sequence[str], env: Mapping[str, str]) -> ImportProfile:
    """Run ``python -X importtime ...`` once and add up its report."""
    python, *rest = argv
    done = subprocess.run(
        [python, "-X", "importtime", *rest],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"{shlex.join(argv)} under -X importtime failed:\n{done.stderr}")
    by_package: dict[str, int] = {}
    top_level: dict[str, int] = {}
    for line in done.stderr.splitlines():
        found = _IMPORT_LINE.match(line)
        if found is None:
            continue
        own, cumulative, indent, name = found.groups()
        package = name.split(".")[0]
        group = package if package in THIRD_PARTY else "stdlib"
        by_package[group] = by_package.get(group, 0) + int(own)
        if not indent:
            top_level[name] = top_level.get(name, 0) + int(cumulative)
    return ImportProfile(by_package, top_level)


def median_profile(profiles: Sequence[ImportProfile]) -> ImportProfile:
    """The median of each figure over several runs."""

    def medians(pick: Callable[[ImportProfile], dict[str, int]]) -> dict[str, int]:
        names = {name for profile in profiles for name in pick(profile)}
        return {
            name: int(statistics.median(pick(profile).get(name, 0) for profile in profiles))
            for name in names
        }

    return ImportProfile(medians(lambda p: p.by_package), medians(lambda p: p.top_level))


# --- the image --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageFigures:
    """What the image adds over its base, and how long it takes to build."""

    base: str
    added_bytes: int
    cold_seconds: float
    warm_seconds: float
    layers: list[tuple[int, str]]


_CONTEXT = ("Dockerfile", ".dockerignore", "requirements.txt", "entrypoint.py", "post.py")


def measure_image(tmp: Path) -> ImageFigures | str:
    """Build the real Dockerfile on the stand-in base; a note saying why not, when it cannot."""
    from tests.container import podman  # noqa: PLC0415  (only this section needs podman)

    try:
        env = podman.ensure_environment()
    except podman.ContainerUnavailable as error:
        return f"podman is unavailable, so the image was not measured: {error.reason}"
    context = tmp / "context"
    context.mkdir()
    for name in _CONTEXT:
        shutil.copy2(ROOT / name, context / name)
    shutil.copytree(
        ROOT / "src" / "last9_change_event",
        context / "src" / "last9_change_event",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    # A comment unique to this run changes requirements.txt's content, so the build cache misses
    # from the pip install on: "cold-ish" is every step of ours run again on a cached base.
    with (context / "requirements.txt").open("a", encoding="utf-8") as file:
        file.write(f"# bench {uuid.uuid4()}\n")
    tag = f"localhost/last9-change-event-bench:{uuid.uuid4().hex[:12]}"
    podman_bin = shutil.which("podman") or "podman"
    process_env = {**os.environ, **env}
    try:
        cold = podman.build_image(context, tag, env=env)
        warm = podman.build_image(context, tag, env=env)
        added = podman.image_size(tag, env) - podman.image_size(podman.STANDIN_BASE, env)
        history = subprocess.run(
            [podman_bin, "history", "--format", "{{.Size}}\t{{.CreatedBy}}", "--human=false"]
            + [tag],
            env=process_env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    except podman.ImageBuildError as error:
        tail = "\n".join(error.log.strip().splitlines()[-5:])
        return f"the image did not build, so it was not measured:\n{tail}"
    finally:
        subprocess.run(
            [podman_bin, "rmi", "--force", tag],
            env=process_env,
            capture_output=True,
            timeout=120,
            check=False,
        )
    return ImageFigures(podman.STANDIN_BASE, added, cold, warm, _our_layers(history.stdout))


def _our_layers(history: str) -> list[tuple[int, str]]:
    """The layers the Dockerfile adds (newest first, up to the base's), with their sizes."""
    layers: list[tuple[int, str]] = []
    for line in history.splitlines():
        size, _, created_by = line.partition("\t")
        if "podman import" in created_by or not size.isdigit():
            break
        step = re.sub(r"^/bin/sh -c (#\(nop\) )?", "", created_by).strip()
        layers.append((int(size), " ".join(step.split())[:60]))
    return layers


# --- the report -------------------------------------------------------------------------------


def verdict(ok: bool) -> str:  # noqa: FBT001  (a predicate's value, read as a word)
    return "met" if ok else "**missed**"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def machine() -> list[str]:
    """Where the figures were measured."""
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    return [
        f"machine: {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}",
        f"load average at start: {', '.join(f'{value:.2f}' for value in os.getloadavg())}",
    ]


def python_version(python: str) -> str:
    done = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@contextmanager
def section(title: str) -> Iterator[None]:
    """A titled block of the report, with the seconds it took to measure."""
    started = time.monotonic()
    print(f"\n## {title}\n", flush=True)
    yield
    print(f"\n({time.monotonic() - started:.0f} s to measure)", flush=True)


def main(argv: Sequence[str] | None = None) -> int:  # noqa: PLR0915  (the report, in order)
    """Measure everything and print the report."""
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="interpreter for the measured processes")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved hyperfine rounds")
    parser.add_argument("--runs", type=int, default=7, help="runs per command and round")
    parser.add_argument("--memory-runs", type=int, default=5, help="runs under GNU time")
    parser.add_argument("--import-runs", type=int, default=5, help="runs under -X importtime")
    parser.add_argument("--no-image", action="store_true", help="skip the image section")
    args = parser.parse_args(argv)
    started = time.monotonic()

    print("# last9-change-event benchmark\n")
    for line in machine():
        print(f"- {line}")
    print(f"- measured processes: Python {python_version(args.python)} ({args.python})")
    print(f"- wall: median of {args.rounds} x {args.runs} hyperfine runs, interleaved by round;")
    print(f"  memory: median of {args.memory_runs} runs; imports: median of {args.import_runs}")

    with tempfile.TemporaryDirectory(prefix="last9-bench-") as temp, FakeLast9(org=ORG) as fake:
        tmp = Path(temp)
        paths = make_paths(fake, args.python, tmp)
        steps = {path.key: make_step(tmp, path.inputs) for path in paths}

        with section("Wall time, peak memory, requests (fake Last9 on loopback)"):
            times: dict[tuple[str, str], list[float]] = {}
            for _ in range(args.rounds):
                for path in paths:
                    commands = programs(args.python, path)
                    if path.key == "valid":
                        commands["python alone"] = [args.python, "-c", "pass"]
                    measured = hyperfine(commands, steps[path.key].env, args.runs, tmp)
                    for name, runs in measured.items():
                        times.setdefault((path.key, name), []).extend(runs)
            rss: dict[tuple[str, str], list[int]] = {}
            for _ in range(args.memory_runs):
                for path in paths:
                    for name, command in programs(args.python, path).items():
                        rss.setdefault((path.key, name), []).append(
                            max_rss_bytes(command, steps[path.key].env)
                        )
            counts = {
                (path.key, name): counted(fake, command, make_step(tmp, path.inputs).env)
                for path in paths
                for name, command in programs(args.python, path).items()
            }
            # The two-step pattern: the stop step given the start step's access-token output.
            start = make_step(tmp, paths[1].inputs)
            counted(fake, [args.python, str(ENTRYPOINT)], start.env)
            handed = read_file_command(start.output)["access-token"]
            stop_inputs = {**paths[1].inputs, "access-token": handed, "event-state": "stop"}
            stop = counted(fake, [args.python, str(ENTRYPOINT)], make_step(tmp, stop_inputs).env)

            print("| path | program | wall median (ms) | wall min (ms) | action / this "
                  "| peak RSS (MiB) | requests | connections | exchanges |")
            print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
            for path in paths:
                action = statistics.median(times[(path.key, "action")])
                rows = [*programs(args.python, path)] + (["python alone"] * (path.key == "valid"))
                for name in rows:
                    wall = times[(path.key, name)]
                    median = statistics.median(wall)
                    memory = rss.get((path.key, name))
                    count = counts.get((path.key, name))
                    cells = [
                        path.title,
                        name,
                        ms(median),
                        ms(min(wall)),
                        f"{action / median:.2f}",
                        f"{statistics.median(memory) / MIB:.1f}" if memory else "",
                        *(
                            (str(count.requests), str(count.connections), str(count.exchanges))
                            if count
                            else ("", "", "")
                        ),
                    ]
                    print("| " + " | ".join(cells) + " |")

        targets: list[tuple[str, str, str, bool | None]] = []
        for path in paths:
            action = statistics.median(times[(path.key, "action")])
            bare = statistics.median(times[(path.key, "bare client")])
            ratio = action / bare
            targets.append(
                (
                    f"wall, action / bare client, {path.title}",
                    f"{ratio:.2f} ({ms(action)} / {ms(bare)} ms, +{ms(action - bare)} ms)",
                    f"<= {WALL_RATIO_TARGET}",
                    ratio <= WALL_RATIO_TARGET,
                )
            )
        for path in paths:
            peak = statistics.median(rss[(path.key, "action")]) / MIB
            targets.append(
                (
                    f"peak memory of the action, {path.title}",
                    f"{peak:.1f} MiB",
                    f"<= {RSS_TARGET_MIB:.0f} MiB",
                    peak <= RSS_TARGET_MIB,
                )
            )
        for path in paths:
            seen = counts[(path.key, "action")]
            targets.append(
                (
                    f"HTTP, {path.title}",
                    _count_text(seen),
                    _count_text(path.expected),
                    seen == path.expected,
                )
            )
        targets.append(
            (
                "HTTP, stop given the start's access-token",
                _count_text(stop),
                _count_text(Counts(1, 1, 0)),
                stop == Counts(1, 1, 0),
            )
        )

        with section("Import time of the entrypoint (python -X importtime, ms)"):
            dry = make_step(tmp, {**paths[0].inputs, "dry-run": "true"})
            profiled = {
                "action, valid token": ([args.python, str(ENTRYPOINT)], steps["valid"].env),
                "action, dry-run": ([args.python, str(ENTRYPOINT)], dry.env),
                "bare client": ([args.python, str(BARE_CLIENT)], steps["valid"].env),
            }
            profiles = {
                name: median_profile(
                    [import_profile(command, env) for _ in range(args.import_runs)]
                )
                for name, (command, env) in profiled.items()
            }
            _print_imports(profiles)
            print(
                "\n-X importtime's own bookkeeping inflates these figures; compare them with "
                "each other, not with the wall times above."
            )

    if args.no_image:
        image: ImageFigures | str = "skipped (--no-image)"
    else:
        with section("The image (podman, stand-in base)"):
            with tempfile.TemporaryDirectory(prefix="last9-bench-image-") as temp:
                image = measure_image(Path(temp))
            _print_image(image)
    if isinstance(image, ImageFigures):
        added = image.added_bytes / MB
        targets.append(
            (
                "image, added over its base",
                f"{added:.1f} MB",
                f"<= {IMAGE_TARGET_MB:.0f} MB",
                added <= IMAGE_TARGET_MB,
            )
        )
    else:
        targets.append(("image, added over its base", "not measured", "<= 8 MB", None))

    print("\n## Targets\n")
    print("| figure | measured | target | verdict |")
    print("| --- | --- | --- | --- |")
    for figure, measured, target, ok in targets:
        print(f"| {figure} | {measured} | {target} | {'n/a' if ok is None else verdict(ok)} |")
    print(f"\nload average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"benchmark took {time.monotonic() - started:.0f} s")
    return 0


def _count_text(counts: Counts) -> str:
    return (
        f"{counts.requests} request(s), {counts.connections} connection(s), "
        f"{counts.exchanges} exchange(s)"
    )


def _print_imports(profiles: Mapping[str, ImportProfile]) -> None:
    names = list(profiles)
    print("| package | " + " | ".join(names) + " |")
    print("| --- |" + " ---: |" * len(names))
    groups = sorted(
        {group for profile in profiles.values() for group in profile.by_package},
        key=lambda group: -max(profile.by_package.get(group, 0) for profile in profiles.values()),
    )
    for group in groups:
        label = "our code (last9_change_event)" if group == "last9_change_event" else group
        cells = [f"{profile.by_package.get(group, 0) / 1000:.1f}" for profile in profiles.values()]
        print(f"| {label} | " + " | ".join(cells) + " |")
    totals = [f"**{profile.total / 1000:.1f}**" for profile in profiles.values()]
    print("| **total** | " + " | ".join(totals) + " |")
    action = profiles[names[0]]
    print(f"\nTop-level imports of the {names[0]} path, by cumulative time (ms):\n")
    top = sorted(action.top_level.items(), key=lambda item: -item[1])[:8]
    print(", ".join(f"`{name}` {micros / 1000:.1f}" for name, micros in top))


def _print_image(image: ImageFigures | str) -> None:
    if isinstance(image, str):
        print(f"NOTE: {image}")
        return
    print("| figure | value |")
    print("| --- | ---: |")
    print(f"| added over the base ({image.base}) | {image.added_bytes / MB:.1f} MB |")
    print(f"| build, cold-ish (base cached, pip install from PyPI) | {image.cold_seconds:.1f} s |")
    print(f"| build, warm (every layer cached) | {image.warm_seconds:.1f} s |")
    print("\nLayers the Dockerfile adds (newest first):\n")
    print("| size (MB) | step |")
    print("| ---: | --- |")
    for size, step in image.layers:
        print(f"| {size / MB:.2f} | `{step}` |")


if __name__ == "__main__":
    sys.exit(main())
