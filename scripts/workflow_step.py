"""Run one `run:` step of a workflow file the way a GitHub runner runs it, here.

The release rehearsal (scripts/rehearse-release) runs the release workflow's own steps with
this, not copies of them: a broken step in release.yml breaks the rehearsal.

    python scripts/workflow_step.py WORKFLOW JOB STEP [--set EXPR=VALUE]... [--env NAME=VALUE]...
        [--outputs FILE] [--workdir DIR]

STEP is a step's `id` or `name`. The step's script runs as the runner runs `shell: bash`
(`bash --noprofile --norc -eo pipefail FILE`), in DIR, with the environment of the workflow,
the job and the step laid over this process's, plus `GITHUB_OUTPUT` (a fresh file) and
`GITHUB_ENV`. Every `${{ ... }}` in those `env:` values must be given with `--set`
(`--set needs.test.outputs.image=localhost:5000/acme/app`): an expression that is not given
is an error, never an empty string. A `${{ }}` inside the script itself is refused: the
release keeps expressions in `env:` (template injection), and so must the steps run here.
The outputs the step wrote are printed as NAME=VALUE lines (and appended to FILE). The exit
code is the step's.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class StepError(Exception):
    """The workflow, the job or the step is not what the caller asked for."""


def find_step(workflow: Mapping[str, Any], job: str, step: str) -> dict[str, Any]:
    """The step whose `id` or `name` is STEP in JOB; it must be a `run:` step."""
    jobs = workflow.get("jobs") or {}
    if job not in jobs:
        raise StepError(f"no job {job!r} (jobs: {', '.join(jobs)})")
    steps = jobs[job].get("steps") or []
    found = [s for s in steps if step in (s.get("id"), s.get("name"))]
    if len(found) != 1:
        names = [s.get("id") or s.get("name") or s.get("uses") for s in steps]
        raise StepError(f"{len(found)} steps named {step!r} in job {job!r} (steps: {names})")
    if "run" not in found[0]:
        raise StepError(f"step {step!r} of job {job!r} is not a `run:` step")
    shell = found[0].get("shell", jobs[job].get("defaults", {}).get("run", {}).get("shell"))
    if shell not in (None, "bash"):
        raise StepError(f"step {step!r} runs in shell {shell!r}; only bash is run here")
    return dict(found[0])


def evaluate(value: str, known: Mapping[str, str]) -> str:
    """Replace each `${{ expr }}` with its given value; an expression not given is an error."""

    def one(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr not in known:
            raise StepError(f"no value for the expression ${{{{ {expr} }}}} (give it with --set)")
        return known[expr]

    return EXPRESSION.sub(one, value)


def step_environment(
    workflow: Mapping[str, Any], job: str, step: Mapping[str, Any], known: Mapping[str, str]
) -> dict[str, str]:
    """The workflow's, the job's and the step's `env:`, evaluated, later ones winning."""
    merged: dict[str, str] = {}
    for layer in (workflow.get("env"), workflow["jobs"][job].get("env"), step.get("env")):
        for name, raw in (layer or {}).items():
            merged[str(name)] = evaluate(
                str(raw), {**known, **{f"env.{k}": v for k, v in merged.items()}}
            )
    return merged


def read_outputs(path: Path) -> list[tuple[str, str]]:
    """NAME=VALUE and NAME<<DELIMITER lines of a GITHUB_OUTPUT file, in order."""
    pairs: list[tuple[str, str]] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, _, delimiter = line.partition("<<")
            end = lines.index(delimiter, i + 1)
            pairs.append((name, "\n".join(lines[i + 1 : end])))
            i = end + 1
            continue
        if "=" in line:
            name, _, value = line.partition("=")
            pairs.append((name, value))
        i += 1
    return pairs


def run_step(
    workflow_path: Path,
    job: str,
    *,
    step_key: str,
    known: Mapping[str, str],
    extra_env: Mapping[str, str],
    workdir: Path,
) -> tuple[int, list[tuple[str, str]]]:
    """Run the step; its exit code and the outputs it wrote."""
    workflow = yaml.safe_load(workflow_path.read_text(encoding="utf-8"))
    step = find_step(workflow, job, step_key)
    script = str(step["run"])
    if EXPRESSION.search(script):
        raise StepError(f"step {step_key!r} has an expression in its script; move it to `env:`")
    env = step_environment(workflow, job, step, known)
    with tempfile.TemporaryDirectory(prefix="workflow-step-") as scratch:
        folder = Path(scratch)
        script_file = folder / "step.sh"
        script_file.write_text(script, encoding="utf-8")
        output = folder / "output"
        output.touch()
        (folder / "env").touch()
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script_file)],
            cwd=workdir / str(step.get("working-directory", ".")),
            env={
                **os.environ,
                **env,
                **extra_env,
                "GITHUB_OUTPUT": str(output),
                "GITHUB_ENV": str(folder / "env"),
            },
            check=False,
        )
        return done.returncode, read_outputs(output)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("workflow", type=Path)
    parser.add_argument("job")
    parser.add_argument("step")
    parser.add_argument("--set", action="append", default=[], metavar="EXPR=VALUE")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--outputs", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path.cwd())
    args = parser.parse_args(argv)
    known = dict(item.partition("=")[::2] for item in args.set)
    extra = dict(item.partition("=")[::2] for item in args.env)
    print(f"workflow-step: {args.workflow.name} / {args.job} / {args.step}", file=sys.stderr)
    try:
        code, outputs = run_step(
            args.workflow,
            args.job,
            step_key=args.step,
            known=known,
            extra_env=extra,
            workdir=args.workdir,
        )
    except StepError as exc:
        print(f"workflow-step: {exc}", file=sys.stderr)
        return 2
    lines = "".join(f"{name}={value}\n" for name, value in outputs)
    sys.stdout.write(lines)
    if args.outputs is not None:
        with args.outputs.open("a", encoding="utf-8") as out:
            out.write(lines)
    return code


if __name__ == "__main__":
    sys.exit(main())
