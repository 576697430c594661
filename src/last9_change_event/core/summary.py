"""The step summary: a Markdown account of what was sent, or why not.

Every value is shown as text: Markdown and HTML in an event name or an attribute cannot format,
link or inject anything. Organization slugs and attribute keys are validated label-safe text,
shown as code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_ICONS = {"sent": "✅", "dry-run": "🧪", "skipped": "⏭️", "failed": "❌"}
#: What can format, link or break a table cell anywhere in a line (lines start with ``|``).
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()!|~])")


def text(value: object) -> str:
    """``value`` as inert Markdown: one line, HTML entities, Markdown punctuation escaped."""
    flat = " ".join(str(value).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", flat)


def render(
    *,
    status: str,
    org: str,
    payloads: Sequence[Mapping[str, Any]],
    deployment_id: str | None,
    problem: tuple[str, str] | None = None,
) -> str:
    """A heading with the status, the error if any, and one table per event."""
    lines = [f"### Last9 change event: {status} {_ICONS.get(status, '')}".rstrip(), ""]
    if problem is not None:
        title, message = problem
        lines += [f"**{text(title)}**: {text(message)}", ""]
    for payload in payloads:
        lines += [
            "| field | value |",
            "| --- | --- |",
            f"| organization | `{org}` |",
            f"| event | {text(payload['event_name'])} {text(payload['event_state'])} |",
            f"| timestamp | {text(payload['timestamp'])} |",
        ]
        if deployment_id:
            lines.append(f"| deployment id | {text(deployment_id)} |")
        if payload.get("data_source_name"):
            lines.append(f"| data source | {text(payload['data_source_name'])} |")
        lines += [f"| `{key}` | {text(value)} |" for key, value in payload["attributes"].items()]
        lines.append("")
    return "\n".join(lines)
