"""Measure the action as the runner runs it, next to a bare client and curl, and print the figures.

Run it with ``bench/run``: that script installs the tools (hyperfine, GNU time, curl), the
project's ``.venv`` (this driver runs there) and an interpreter holding exactly what the image
installs (``requirements.txt`` with ``--no-deps``: no PyGithub, no cryptography), which runs every
measured process.

What it measures, against a fake Last9 served from this process on loopback:

- wall and CPU time (hyperfine, interleaved rounds, medians) and peak memory (GNU time's maximum
  resident set size) of ``python entrypoint.py`` with the runner's ``INPUT_*`` variables and
  file-command files, on two paths: a valid access token (one PUT) and a refresh token only
  (exchange, then PUT); the same for ``bench/bare_client.py`` and for ``curl``;
- the HTTP requests, TCP connections and token exchanges the fake saw for one run of each;
- ``python -X importtime``: where the start-up time goes, by package;
- a storm (``bench/storm.py``): 40 jobs at once against 5 events/s answered ``429`` with
  ``Retry-After: 2``: how many land within a 30 s timeout, attempts, p95 time, and that no
  retry came sooner than ``Retry-After``;
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
from dataclasses import dataclass, field
from pathlib import Path

from tests.fake_last9 import FakeLast9
from tests.github_run import RELEASE_EVENT, RUNNER_ENV, read_file_command
from tests.rawserver import Play, RawLast9, answer
from tests.runner import action_defaults

from bench.storm import Storm, run_storm

ROOT = Path(__file__).resolve().parent.parent
ENTRYPOINT = ROOT / "entrypoint.py"
BARE_CLIENT = ROOT / "bench" / "bare_client.py"

#: The targets of issue 6.
WALL_RATIO_TARGET = 1.3
RSS_TARGET_MIB = 40.0
HOSTILE_RSS_TARGET_MIB = 64.0
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


# --- one process, run the way the runner runs it ---------------------------------------------

_FILE_COMMANDS = ("OUTPUT", "STATE", "ENV", "STEP_SUMMARY")


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


@dataclass(frozen=True)
class Counts:
    """What the fake saw during one run."""

    requests: int
    connections: int
    exchanges: int

    def __str__(self) -> str:
        return (
            f"{self.requests} request(s) over {self.connections} connection(s), "
            f"{self.exchanges} exchange(s)"
        )


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


# --- the paths and the programs compared on them ---------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One path through the action: its inputs, what curl sends, what the fake should see."""

    key: str
    title: str
    inputs: dict[str, str]
    curl: list[str]
    expected: Counts


def make_scenarios(fake: FakeLast9, python: str, tmp: Path) -> list[Scenario]:
    """The valid-token path (one PUT) and the expired-token path (exchange, then PUT)."""
    refresh = fake.mint("refresh", ttl=None)
    access = fake.mint("access", ttl=3600)
    common = {"org": ORG, "api-url": fake.url, "environment": "production"}
    # The stop step of the two-step pattern: the start's access token, still good for an hour.
    valid = {**common, "refresh-token": refresh, "access-token": access, "event-state": "stop"}
    # A start step: the refresh token only.
    expired = {**common, "refresh-token": refresh}

    # curl sends exactly the body the action sends (taken from one dry run), with the token read
    # from a file rather than from argv.
    step = make_step(tmp, {**valid, "dry-run": "true"})
    subprocess.run(
        [python, str(ENTRYPOINT)], env=step.env, capture_output=True, check=True, timeout=60
    )
    body = tmp / "event.json"
    body.write_text(read_file_command(step.output)["payload"], encoding="utf-8")
    exchange = tmp / "exchange.json"
    exchange.write_text(json.dumps({"refresh_token": refresh}), encoding="utf-8")
    headers = tmp / "headers.txt"
    headers.write_text(
        f"X-LAST9-API-TOKEN: Bearer {access}\nContent-Type: application/json\n", encoding="utf-8"
    )
    curl = shutil.which("curl") or "curl"
    put = ["-sSf", "-o", "/dev/null", "-X", "PUT", "-H", f"@{headers}", "--data-binary"]
    put += [f"@{body}", f"{fake.url}/api/v4/organizations/{ORG}/change_events"]
    post = ["-sSf", "-o", "/dev/null", "-H", "Content-Type: application/json", "--data-binary"]
    post += [f"@{exchange}", f"{fake.url}/api/v4/oauth/access_token"]
    # One curl process, one connection: the exchange, then (--next) the PUT. curl cannot read
    # the new token from the answer, so it sends one known in advance: the transport's floor.
    return [
        Scenario("valid", "valid token", valid, [curl, *put], Counts(1, 1, 0)),
        Scenario(
            "expired", "expired token", expired, [curl, *post, "--next", *put], Counts(2, 1, 1)
        ),
    ]


def programs(python: str, scenario: Scenario) -> dict[str, list[str]]:
    """The commands compared on one path, by row name."""
    commands = {
        "action": [python, str(ENTRYPOINT)],
        "bare client": [python, str(BARE_CLIENT)],
        "curl": scenario.curl,
    }
    if scenario.key == "valid":  # the same step with `dry-run: true`: validates, sends nothing
        env = shutil.which("env") or "/usr/bin/env"
        commands["action, dry-run"] = [env, "INPUT_DRY-RUN=true", python, str(ENTRYPOINT)]
    return commands


# --- wall time, CPU time, memory, requests -----------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One command's wall times (s) in one hyperfine call, and its mean CPU time (s)."""

    wall: list[float]
    cpu: float


def hyperfine(
    commands: Mapping[str, Sequence[str]], env: Mapping[str, str], runs: int, tmp: Path
) -> dict[str, Timing]:
    """Each command's timings, from one hyperfine call (``-N``: no shell in between)."""
    export = tmp / f"hyperfine-{uuid.uuid4()}.json"
    args = [shutil.which("hyperfine") or "hyperfine", "-N", "--style", "none", "--warmup", "1"]
    args += ["--runs", str(runs), "--export-json", str(export)]
    for name, argv in commands.items():
        args += ["-n", name, shlex.join(argv)]
    done = subprocess.run(args, env=dict(env), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"hyperfine failed:\n{done.stdout}{done.stderr}")
    results = json.loads(export.read_text(encoding="utf-8"))["results"]
    return {
        result["command"]: Timing(list(result["times"]), result["user"] + result["system"])
        for result in results
    }


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


@dataclass
class Row:
    """Everything measured for one program on one path."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    counts: Counts | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.wall)


@dataclass(frozen=True)
class Settings:
    """How many times to measure each figure."""

    python: str
    rounds: int
    runs: int
    memory_runs: int
    import_runs: int


def measure_processes(
    settings: Settings, fake: FakeLast9, scenarios: Sequence[Scenario], tmp: Path
) -> dict[tuple[str, str], Row]:
    """Wall, CPU, memory and requests of every program on every path, keyed (path, program)."""
    python = settings.python
    rows: dict[tuple[str, str], Row] = {}
    steps = {scenario.key: make_step(tmp, scenario.inputs) for scenario in scenarios}
    for _ in range(settings.rounds):  # rounds interleave the paths and the programs
        for scenario in scenarios:
            commands = programs(python, scenario)
            if scenario.key == "valid":
                commands["python alone"] = [python, "-c", "pass"]
            timed = hyperfine(commands, steps[scenario.key].env, settings.runs, tmp)
            for name, timing in timed.items():
                row = rows.setdefault((scenario.key, name), Row())
                row.wall.extend(timing.wall)
                row.cpu.append(timing.cpu)
    for _ in range(settings.memory_runs):
        for scenario in scenarios:
            for name, command in programs(python, scenario).items():
                rss = max_rss_bytes(command, steps[scenario.key].env)
                rows[(scenario.key, name)].rss.append(rss)
    for scenario in scenarios:
        for name, command in programs(python, scenario).items():
            env = make_step(tmp, scenario.inputs).env
            rows[(scenario.key, name)].counts = counted(fake, command, env)
    return rows


def chained_stop(
    python: str, fake: FakeLast9, start_inputs: Mapping[str, str], tmp: Path
) -> Counts:
    """The two-step pattern: what the stop step costs when given the start's access token."""
    start = make_step(tmp, start_inputs)
    counted(fake, [python, str(ENTRYPOINT)], start.env)
    handed = read_file_command(start.output)["access-token"]
    stop = make_step(tmp, {**start_inputs, "access-token": handed, "event-state": "stop"})
    return counted(fake, [python, str(ENTRYPOINT)], stop.env)


def print_processes(scenarios: Sequence[Scenario], rows: Mapping[tuple[str, str], Row]) -> None:
    print(
        "| path | program | wall median (ms) | wall min (ms) | CPU user+sys (ms) "
        "| action / this (wall) | peak RSS (MiB) | requests | connections | exchanges |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for scenario in scenarios:
        action = rows[(scenario.key, "action")].median
        for (key, name), row in rows.items():
            if key != scenario.key:
                continue
            counts = row.counts
            cells = [
                scenario.title,
                name,
                _ms(row.median),
                _ms(min(row.wall)),
                _ms(statistics.median(row.cpu)),
                f"{action / row.median:.2f}",
                f"{statistics.median(row.rss) / MIB:.1f}" if row.rss else "",
                *(
                    (str(counts.requests), str(counts.connections), str(counts.exchanges))
                    if counts
                    else ("", "", "")
                ),
            ]
            print("| " + " | ".join(cells) + " |")


Target = tuple[str, str, str, bool | None]


def process_targets(
    scenarios: Sequence[Scenario], rows: Mapping[tuple[str, str], Row], stop: Counts
) -> list[Target]:
    """The targets on wall time, memory and requests, with what was measured."""
    targets: list[Target] = []
    for scenario in scenarios:
        action, bare = rows[(scenario.key, "action")], rows[(scenario.key, "bare client")]
        ratio = action.median / bare.median
        cpu = statistics.median(action.cpu) / statistics.median(bare.cpu)
        best = min(action.wall) / min(bare.wall)
        targets.append(
            (
                f"wall, action / bare client, {scenario.title}",
                f"{ratio:.2f} ({_ms(action.median)} / {_ms(bare.median)} ms); "
                f"CPU time {cpu:.2f}; best runs {best:.2f}",
                f"<= {WALL_RATIO_TARGET}",
                ratio <= WALL_RATIO_TARGET,
            )
        )
    for scenario in scenarios:
        peak = statistics.median(rows[(scenario.key, "action")].rss) / MIB
        targets.append(
            (
                f"peak memory of the action, {scenario.title}",
                f"{peak:.1f} MiB",
                f"<= {RSS_TARGET_MIB:.0f} MiB",
                peak <= RSS_TARGET_MIB,
            )
        )
    for scenario in scenarios:
        seen = rows[(scenario.key, "action")].counts
        targets.append(
            (
                f"HTTP, {scenario.title}",
                str(seen),
                str(scenario.expected),
                seen == scenario.expected,
            )
        )
    expected = Counts(1, 1, 0)
    targets.append(
        (
            "HTTP, stop step given the start's access-token",
            str(stop),
            str(expected),
            stop == expected,
        )
    )
    return targets


# --- memory under hostile answers ---------------------------------------------------------------


def _zeros_gzipped(size: int) -> bytes:
    """``size`` zero bytes as one gzip member, built a mebibyte at a time."""
    import zlib  # noqa: PLC0415

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MIB)
    parts = [packer.compress(block) for _ in range(size // MIB)]
    return b"".join([*parts, packer.flush()])


def hostile_memory(python: str, tmp: Path) -> list[Target]:
    """Peak memory of the step while Last9's address answers with something enormous."""
    answers: dict[str, Callable[[], bytes]] = {
        "a gzip bomb (1 MiB inflating to 1 GiB)": lambda: answer(
            200, _zeros_gzipped(1 << 30), "Content-Encoding: gzip"
        ),
        "a 64 MiB body": lambda: answer(200, b"a" * (64 * MIB)),
        "a 64 MiB body without a length": lambda: answer(200, b"a" * (64 * MIB), length=-1),
    }
    targets: list[Target] = []
    for index, (title, make) in enumerate(answers.items()):
        with RawLast9() as raw:
            raw.script("event", Play(make()))
            inputs = {
                "org": ORG,
                "refresh-token": raw.minter.mint("refresh", ttl=None),
                "api-url": raw.url,
                "fail-on": "never",
            }
            step = make_step(tmp / f"hostile-{index}", inputs)
            peak = max_rss_bytes([python, str(ROOT / "entrypoint.py")], step.env) / MIB
        targets.append(
            (
                f"peak memory under a hostile answer: {title}",
                f"{peak:.1f} MiB",
                f"<= {HOSTILE_RSS_TARGET_MIB:.0f} MiB",
                peak <= HOSTILE_RSS_TARGET_MIB,
            )
        )
    return targets


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


def measure_imports(
    settings: Settings, scenarios: Sequence[Scenario], tmp: Path
) -> dict[str, ImportProfile]:
    """The median import profile of the action (send and dry run) and of the bare client."""
    valid = make_step(tmp, scenarios[0].inputs).env
    dry = make_step(tmp, {**scenarios[0].inputs, "dry-run": "true"}).env
    action = [settings.python, str(ENTRYPOINT)]
    profiled = {
        "action, valid token": (action, valid),
        "action, dry-run": (action, dry),
        "bare client": ([settings.python, str(BARE_CLIENT)], valid),
    }
    return {
        name: median_profile([import_profile(command, env) for _ in range(settings.import_runs)])
        for name, (command, env) in profiled.items()
    }


def print_imports(profiles: Mapping[str, ImportProfile]) -> None:
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
    for name in names[:2]:
        top = sorted(profiles[name].top_level.items(), key=lambda item: -item[1])[:6]
        shown = ", ".join(f"`{module}` {micros / 1000:.1f}" for module, micros in top)
        print(f"\nLargest top-level imports, {name} (cumulative ms): {shown}")
    print(
        "\n`-X importtime` adds its own bookkeeping to every import: compare these figures with "
        "each other, not with the wall times."
    )


# --- the image --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageFigures:
    """What the image adds over its base, and how long it takes to build."""

    base: str
    added_bytes: int
    added_compressed: int
    base_compressed: int
    cold_seconds: float
    warm_seconds: float
    layers: list[tuple[int, str]]


#: The build context: what .dockerignore lets through, and the two files that steer the build.
_CONTEXT = ("Dockerfile", ".dockerignore", "requirements.txt", "entrypoint.py", "post.py")


def measure_image(tmp: Path) -> ImageFigures | str:
    """Build the real Dockerfile on the stand-in base; a note saying why not, when it cannot."""
    from tests.container import podman  # noqa: PLC0415  (only this section needs podman)
    from tests.container.docker_run import build  # noqa: PLC0415
    from tests.container.engine import NoEngine, select_engine  # noqa: PLC0415

    try:
        engine = select_engine()
    except (NoEngine, podman.ContainerUnavailable) as error:
        return f"no container engine, so the image was not measured: {error}"
    if engine.kind != "podman":
        return "the image is measured on podman's stand-in base; this machine has Docker"
    env = dict(engine.env)
    context = tmp / "context"
    context.mkdir()
    for name in _CONTEXT:
        shutil.copy2(ROOT / name, context / name)
    shutil.copytree(
        ROOT / "src" / "last9_change_event",
        context / "src" / "last9_change_event",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    # A comment unique to this run changes requirements.txt, so the layer cache misses from the
    # pip install on: "cold-ish" is every step of the Dockerfile run again on a cached base.
    with (context / "requirements.txt").open("a", encoding="utf-8") as file:
        file.write(f"# bench {uuid.uuid4()}\n")
    tag = f"localhost/last9-change-event-bench:{uuid.uuid4().hex[:12]}"
    try:
        cold = build(engine, context, tag)
        warm = build(engine, context, tag)
        added = podman.image_size(tag, env) - podman.image_size(podman.STANDIN_BASE, env)
        ours = _history(tag, env)
        layers = ours[: len(ours) - len(_history(podman.STANDIN_BASE, env))]
        blobs = _compressed_layers(tag, env, tmp / "saved")
        base_layers = int(
            _podman(
                ["image", "inspect", "--format", "{{len .RootFS.Layers}}", podman.STANDIN_BASE],
                env,
            ).stdout
        )
    except podman.ImageBuildError as error:
        tail = "\n".join(error.log.strip().splitlines()[-5:])
        return f"the image did not build, so it was not measured:\n{tail}"
    finally:
        _podman(["rmi", "--force", tag], env, check=False)
    return ImageFigures(
        podman.STANDIN_BASE,
        added,
        sum(blobs[base_layers:]),
        sum(blobs[:base_layers]),
        cold,
        warm,
        layers,
    )


def _compressed_layers(image: str, env: Mapping[str, str], folder: Path) -> list[int]:
    """The gzip-compressed size of each layer, base first: what a registry pull downloads."""
    _podman(["save", "--format", "docker-dir", "--compress", "-o", str(folder), image], env)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return [int(layer["size"]) for layer in manifest["layers"]]


def _podman(
    args: Sequence[str], env: Mapping[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("podman") or "podman", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=check,
    )


_HUMAN_SIZE = re.compile(r"([\d.]+)\s*([kMG]?B)")
_UNITS = {"B": 1, "kB": 1000, "MB": MB, "GB": 1000 * MB}


def _history(image: str, env: Mapping[str, str]) -> list[tuple[int, str]]:
    """An image's layers, newest first: size (podman 4.3 prints it rounded) and the step."""
    listing = _podman(
        ["history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", image], env
    ).stdout
    layers: list[tuple[int, str]] = []
    for line in listing.splitlines():
        size, _, created_by = line.partition("\t")
        found = _HUMAN_SIZE.fullmatch(size.strip())
        amount = round(float(found.group(1)) * _UNITS[found.group(2)]) if found else 0
        step = re.sub(r"^/bin/sh -c (#\(nop\) )?", "", created_by)
        step = re.sub(r"(dir|file|multi):[0-9a-f]{64}", r"\1:...", " ".join(step.split()))
        layers.append((amount, step if len(step) <= 72 else step[:69] + "..."))
    return layers


def print_image(image: ImageFigures | str) -> None:
    if isinstance(image, str):
        print(f"NOTE: {image}")
        return
    print("| figure | value |")
    print("| --- | ---: |")
    print(f"| added over the base (`{image.base}`) | {image.added_bytes / MB:.1f} MB |")
    print(f"| the same, gzip-compressed (a pull) | {image.added_compressed / MB:.1f} MB |")
    print(f"| the stand-in base, gzip-compressed | {image.base_compressed / MB:.1f} MB |")
    print(f"| build, cold-ish (base cached; pip installs from PyPI) | {image.cold_seconds:.1f} s |")
    print(f"| build, warm (every layer cached) | {image.warm_seconds:.1f} s |")
    print("\nLayers the Dockerfile adds, newest first:\n")
    print("| size | step |")
    print("| ---: | --- |")
    for size, step in image.layers:
        print(f"| {size / MB:.2f} MB | `{step}` |")


def image_target(image: ImageFigures | str) -> Target:
    if isinstance(image, str):
        return ("image, added over its base", "not measured", f"<= {IMAGE_TARGET_MB:.0f} MB", None)
    added = image.added_bytes / MB
    return (
        "image, added over its base",
        f"{added:.1f} MB",
        f"<= {IMAGE_TARGET_MB:.0f} MB",
        added <= IMAGE_TARGET_MB,
    )


# --- the report -------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def machine(python: str) -> list[str]:
    """Where and how the figures were measured."""
    model = "unknown CPU"
    with Path("/proc/cpuinfo").open(encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return [
        f"machine: {os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}",
        f"measured processes: Python {version}, with exactly the image's packages",
        f"load average at the start: {_load()}",
    ]


@contextmanager
def section(title: str) -> Iterator[None]:
    """A titled block of the report, with the seconds it took to measure."""
    started = time.monotonic()
    print(f"\n## {title}\n", flush=True)
    yield
    print(f"\n({time.monotonic() - started:.0f} s to measure)", flush=True)


def print_targets(targets: Sequence[Target]) -> None:
    print("\n## Targets\n")
    print("| figure | measured | target | verdict |")
    print("| --- | --- | --- | --- |")
    for figure, measured, target, ok in targets:
        verdict = "n/a" if ok is None else "met" if ok else "**missed**"
        print(f"| {figure} | {measured} | {target} | {verdict} |")


def storm_section() -> list[Target]:
    """Run the storm, print its figures; its targets."""
    storm: Storm = run_storm()
    print(
        f"{storm.jobs} jobs start at once (threads running the command line, released "
        "together), each `start --timeout 30 --fail-on any`, against the fake limited to 5 "
        "events/s, answering 429 with `Retry-After: 2` over it.\n"
    )
    for line in storm.lines():
        print(f"- {line}")
    shortest = storm.shortest_wait
    return [
        (
            "storm: jobs landed within the timeout",
            f"{storm.landed} of {storm.jobs}",
            f"all {storm.jobs}",
            storm.landed == storm.jobs,
        ),
        (
            "storm: shortest wait after a 429",
            "none" if shortest is None else f"{shortest:.2f} s",
            f">= {storm.retry_after:g} s (Retry-After)",
            None if shortest is None else shortest >= storm.retry_after,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> int:
    """Measure everything and print the report."""
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="interpreter for the measured processes")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved hyperfine rounds")
    parser.add_argument("--runs", type=int, default=3, help="runs per command and round")
    parser.add_argument("--memory-runs", type=int, default=5, help="runs under GNU time")
    parser.add_argument("--import-runs", type=int, default=7, help="runs under -X importtime")
    parser.add_argument("--no-image", action="store_true", help="skip the image section")
    parser.add_argument("--storm-only", action="store_true", help="only the storm section")
    args = parser.parse_args(argv)
    if args.storm_only:
        with section("A storm: 40 jobs against a shared rate limit"):
            targets = storm_section()
        print_targets(targets)
        return 0
    settings = Settings(args.python, args.rounds, args.runs, args.memory_runs, args.import_runs)
    started = time.monotonic()

    print("# last9-change-event benchmark\n")
    for line in machine(settings.python):
        print(f"- {line}")
    print(
        f"- wall: median of {settings.rounds} rounds x {settings.runs} hyperfine runs, rounds "
        f"interleaving the programs; CPU: median of the rounds' means; memory: median of "
        f"{settings.memory_runs} runs; imports: median of {settings.import_runs} runs"
    )

    with tempfile.TemporaryDirectory(prefix="last9-bench-") as temp, FakeLast9(org=ORG) as fake:
        tmp = Path(temp)
        scenarios = make_scenarios(fake, settings.python, tmp)
        with section("Wall time, CPU time, peak memory, requests (fake Last9 on loopback)"):
            rows = measure_processes(settings, fake, scenarios, tmp)
            stop = chained_stop(settings.python, fake, scenarios[1].inputs, tmp)
            print_processes(scenarios, rows)
        targets = process_targets(scenarios, rows, stop)
        targets += hostile_memory(settings.python, tmp)
        with section("Import time (python -X importtime, ms, by package)"):
            print_imports(measure_imports(settings, scenarios, tmp))
    with section("A storm: 40 jobs against a shared rate limit"):
        targets += storm_section()

    if args.no_image:
        image: ImageFigures | str = "skipped (--no-image)"
    else:
        with section("The image (podman, on the stand-in base)"):
            with tempfile.TemporaryDirectory(prefix="last9-bench-image-") as temp:
                image = measure_image(Path(temp))
            print_image(image)
    targets.append(image_target(image))

    print_targets(targets)
    print(f"\nload average at the end: {_load()}; the benchmark took ", end="")
    print(f"{time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
