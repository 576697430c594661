"""The step summary: a Markdown account of what was sent, or why not."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

_ICONS = {"sent": "✅", "dry-run": "🧪", "skipped": "⏭️", "failed": "❌"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
        lines += [f"**{_cell(title)}**: {_cell(message)}", ""]
    for payload in payloads:
        lines += [
            "| field | value |",
            "| --- | --- |",
            f"| organization | `{_cell(org)}` |",
            f"| event | `{_cell(str(payload['event_name']))}` {payload['event_state']} |",
            f"| timestamp | {payload['timestamp']} |",
        ]
        if deployment_id:
            lines.append(f"| deployment id | `{_cell(deployment_id)}` |")
        if payload.get("data_source_name"):
            lines.append(f"| data source | `{_cell(str(payload['data_source_name']))}` |")
        lines += [
            f"| `{_cell(key)}` | {_cell(value)} |" for key, value in payload["attributes"].items()
        ]
        lines.append("")
    return "\n".join(lines)
