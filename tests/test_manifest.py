"""Every action manifest here loads on GitHub's runner, by the runner's own schema and rules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.manifest_rules import Schema, check_manifest

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Schema.load()
SKIPPED_DIRS = {".git", ".venv", "node_modules", ".mypy_cache", ".ruff_cache", ".pytest_cache"}

DOCKER = """\
name: Example
description: An example Docker action.
inputs:
  org:
    description: The organization.
    required: true
    default: ""
outputs:
  status:
    description: What happened.
runs:
  using: docker
  image: Dockerfile
  post-entrypoint: /action/post.py
"""


def manifests() -> list[Path]:
    """Every action.yml and action.yaml of the repository, tools' folders left out."""
    found = [
        path
        for pattern in ("action.yml", "action.yaml")
        for path in ROOT.rglob(pattern)
        if not SKIPPED_DIRS.intersection(path.relative_to(ROOT).parts)
    ]
    return sorted(found)


def problems(text: str) -> list[str]:
    return [str(p) for p in check_manifest(textwrap.dedent(text), schema=SCHEMA)]


def with_lines(replace: str, by: str) -> str:
    """The Docker example with one line replaced (the indentation of `replace` kept)."""
    assert DOCKER.count(replace) == 1, replace
    return DOCKER.replace(replace, by)


def test_the_repository_has_manifests_to_check() -> None:
    """The action's manifest and the test helper's are both found."""
    relative = {str(p.relative_to(ROOT)) for p in manifests()}
    assert {"action.yml", ".github/actions/expect-events/action.yml"} <= relative


@pytest.mark.parametrize("path", manifests(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_manifest_loads_on_the_runner(path: Path) -> None:
    """The runner would load this manifest without an error."""
    assert (
        check_manifest(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)), SCHEMA) == []
    )


def test_the_old_outcome_description_is_refused_as_the_runner_refuses_it() -> None:
    """`${{ job.status }}` in an input's description fails the load, at its line, as on GitHub."""
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    new = "e.g. the job's status (`job.status` in an expression)."
    assert text.count(new) == 1
    found = check_manifest(text.replace(new, "e.g. `${{ job.status }}`."), schema=SCHEMA)
    line = next(n for n, ln in enumerate(text.splitlines(), 1) if new in ln)
    assert [str(p) for p in found] == [
        f"(Line: {line}, Col: 18): Unrecognized named-value: 'job'. "
        "Located at position 1 within expression: job.status"
    ]


def test_the_example_loads() -> None:
    """The base of the cases below is itself a manifest the runner loads."""
    assert problems(DOCKER) == []


REFUSED = {
    # Expressions where the schema names no context: literal text only.
    "expression in an input description": (
        "    description: The organization.",
        "    description: e.g. ${{ job.status }}",
        "Unrecognized named-value: 'job'",
    ),
    "expression in the action's name": (
        "name: Example",
        "name: ${{ github.repository }}",
        "Unrecognized named-value: 'github'",
    ),
    "literal expression in a description": (
        "description: An example Docker action.",
        "description: ${{ true }}",
        "A template expression is not allowed in this context",
    ),
    "unclosed expression in a description": (
        "    description: What happened.",
        "    description: ${{ job.status",
        "The expression is not closed",
    ),
    "empty expression": (
        "    description: What happened.",
        "    description: a ${{ }} b",
        "An expression was expected",
    ),
    "expression in an output description": (
        "    description: What happened.",
        "    description: ${{ steps.main.outputs.status }}",
        "Unrecognized named-value: 'steps'",
    ),
    "expression in runs.entrypoint": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  entrypoint: ${{ inputs.org }}",
        "Unrecognized named-value: 'inputs'",
    ),
    "expression in runs.post-entrypoint": (
        "  post-entrypoint: /action/post.py",
        "  post-entrypoint: ${{ inputs.org }}",
        "Unrecognized named-value: 'inputs'",
    ),
    "expression in runs.post-if": (
        "  post-entrypoint: /action/post.py",
        "  post-entrypoint: /action/post.py\n  post-if: ${{ always() }}",
        "Unrecognized function: 'always'",
    ),
    "expression in runs.image": (
        "  image: Dockerfile",
        "  image: ${{ inputs.org }}",
        "Unrecognized named-value: 'inputs'",
    ),
    # Expressions where the schema names a context: only that context.
    "secrets in an input default": (
        '    default: ""',
        "    default: ${{ secrets.TOKEN }}",
        "Unrecognized named-value: 'secrets'",
    ),
    "inputs in an input default": (
        '    default: ""',
        "    default: ${{ inputs.other }}",
        "Unrecognized named-value: 'inputs'",
    ),
    "steps in an input default": (
        '    default: ""',
        "    default: ${{ steps.a.outputs.b }}",
        "Unrecognized named-value: 'steps'",
    ),
    "env in an input default": (
        '    default: ""',
        "    default: ${{ env.HOME }}",
        "Unrecognized named-value: 'env'",
    ),
    "a status function in an input default": (
        '    default: ""',
        "    default: ${{ always() }}",
        "Unrecognized function: 'always'",
    ),
    "hashFiles without a parameter": (
        '    default: ""',
        "    default: ${{ hashFiles() }}",
        "Too few parameters supplied: 'hashFiles'",
    ),
    "github in runs.args": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  args: [--ref, '${{ github.ref }}']",
        "Unrecognized named-value: 'github'",
    ),
    "env in runs.env": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  env:\n    REF: ${{ env.REF }}",
        "Unrecognized named-value: 'env'",
    ),
    # Keys: only those the definition names, unique ignoring case.
    "unknown key in runs": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  timeout: 5",
        "Unexpected value 'timeout'",
    ),
    "a key in the wrong case in runs": (
        "  image: Dockerfile",
        "  Image: Dockerfile",
        "Unexpected value 'Image'",
    ),
    "unknown key in an output": (
        "    description: What happened.",
        "    description: What happened.\n    default: x",
        "Unexpected value 'default'",
    ),
    "two inputs differing in case": (
        "outputs:",
        "  Org:\n    description: Again.\noutputs:",
        "'Org' is already defined",
    ),
    "a key twice": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  image: other",
        "'image' is already defined",
    ),
    "an expression as a key": (
        "  org:",
        "  ${{ github.ref }}:\n    description: x\n  org:",
        "Unrecognized named-value: 'github'",
    ),
    # Types: a mapping, a sequence or a scalar only where the definition has one.
    "inputs as a sequence": (
        'inputs:\n  org:\n    description: The organization.\n    required: true\n    default: ""',
        "inputs:\n  - org",
        "A sequence was not expected",
    ),
    "an input as a string": (
        '  org:\n    description: The organization.\n    required: true\n    default: ""',
        "  org: The organization.",
        "Unexpected value 'The organization.'",
    ),
    "outputs as a string": (
        "outputs:\n  status:\n    description: What happened.",
        "outputs: none",
        "Unexpected value 'none'",
    ),
    "the name as a mapping": (
        "name: Example",
        "name:\n  en: Example",
        "A mapping was not expected",
    ),
    "an input default as a sequence": (
        '    default: ""',
        "    default: [a, b]",
        "A sequence was not expected",
    ),
    "runs.args as a string": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  args: --verbose",
        "Unexpected value '--verbose'",
    ),
    "runs.env as a sequence": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  env: [A=1]",
        "A sequence was not expected",
    ),
    "a runs.env value as a mapping": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  env:\n    A: {b: c}",
        "A mapping was not expected",
    ),
    "an empty image": ("  image: Dockerfile", '  image: ""', "Unexpected value ''"),
    "a null image": ("  image: Dockerfile", "  image:", "Unexpected value ''"),
    # One-of and required properties.
    "runs with only using": (
        "  image: Dockerfile\n  post-entrypoint: /action/post.py",
        "",
        "There's not enough info to determine what you meant",
    ),
    "a Docker action without an image": (
        "  image: Dockerfile\n",
        "",
        "You are using a Container Action but an image is not provided",
    ),
    "a JavaScript action without main": (
        "  using: docker\n  image: Dockerfile\n  post-entrypoint: /action/post.py",
        "  using: node20\n  post: post.js",
        "there is not an entry JavaScript file provided",
    ),
    "a runs.using the runner does not know": (
        "  using: docker",
        "  using: node18",
        "'using: node18' is not supported",
    ),
    "no runs": (
        "runs:\n  using: docker\n  image: Dockerfile\n  post-entrypoint: /action/post.py\n",
        "",
        "Top level 'runs:' section is required",
    ),
    "a composite step without shell": (
        "  using: docker\n  image: Dockerfile\n  post-entrypoint: /action/post.py",
        "  using: composite\n  steps:\n    - run: echo hi",
        "Required property is missing: shell",
    ),
    "a deprecation message that is not a string": (
        "    required: true",
        "    required: true\n    deprecationMessage: 2",
        "deprecationMessage",
    ),
    # YAML the runner's reader refuses.
    "an anchor": (
        '    default: ""',
        '    default: &empty ""',
        "Anchors are not currently supported",
    ),
    "an unknown tag": ("  image: Dockerfile", "  image: !Ref Dockerfile", "Unexpected tag '!Ref'"),
    "a second document": (
        "  post-entrypoint: /action/post.py\n",
        "  post-entrypoint: /action/post.py\n---\nname: b\n",
        "Expected stream end",
    ),
}


@pytest.mark.parametrize(("replace", "by", "message"), list(REFUSED.values()), ids=list(REFUSED))
def test_the_runner_refuses(replace: str, by: str, message: str) -> None:
    """A manifest breaking one rule of the runner's schema or loader is refused, in its words."""
    found = problems(with_lines(replace, by))
    assert any(message in p for p in found), found


ACCEPTED = {
    "unknown top-level keys (the runner ignores them)": (
        "name: Example",
        "name: Example\nx-extra:\n  a: [1, {b: c}]",
    ),
    "unknown keys in an input": (
        "    required: true",
        "    required: true\n    deprecationMessage: Use org-slug.\n    x: 1",
    ),
    "github, job, runner, matrix, strategy in an input default": (
        '    default: ""',
        "    default: ${{ github.token }}-${{ job.status }}-${{ runner.os }}"
        "-${{ matrix.a }}-${{ strategy.job-index }}",
    ),
    "hashFiles in an input default": (
        '    default: ""',
        "    default: ${{ hashFiles('**/requirements.txt') }}",
    ),
    "built-in functions in an input default": (
        '    default: ""',
        "    default: ${{ format('{0}', toJSON(fromJSON('[1]'))) }}"
        "-${{ contains(github.ref, 'v') && 'a' || 'b' }}",
    ),
    "inputs in runs.args and runs.env": (
        "  image: Dockerfile",
        "  image: Dockerfile\n  args: ['${{ inputs.org }}']\n  env:\n    ORG: ${{ inputs.org }}",
    ),
    "a quoted literal expression in a description": (
        "description: An example Docker action.",
        "description: ${{ 'a ${{ b }}' }}",
    ),
    "a status function in runs.post-if, without ${{ }}": (
        "  post-entrypoint: /action/post.py",
        "  post-entrypoint: /action/post.py\n  post-if: always()",
    ),
    "steps in an output value": (
        "    description: What happened.",
        "    description: What happened.\n    value: ${{ steps.a.outputs.b }}",
    ),
    "scalars the runner turns into strings": (
        '    default: ""',
        "    default: true\n    x-number: 3",
    ),
    "a composite action": (
        "  using: docker\n  image: Dockerfile\n  post-entrypoint: /action/post.py",
        "  using: composite\n  steps:\n    - run: echo ${{ inputs.org }}\n      shell: bash\n"
        "    - uses: ./x\n      with:\n        a: ${{ github.ref }}",
    ),
}


@pytest.mark.parametrize(("replace", "by"), list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_the_runner_accepts(replace: str, by: str) -> None:
    """What the runner's schema allows is not refused."""
    assert problems(with_lines(replace, by)) == []


def test_contexts_come_from_the_vendored_schema() -> None:
    """The allowed contexts are read from the runner's schema, not written here."""
    assert SCHEMA.get("container-runs-env").context == ("inputs",)
    assert "hashFiles(1,255)" in SCHEMA.get("input-default-context").context
    assert SCHEMA.get("non-empty-string").context == ()
