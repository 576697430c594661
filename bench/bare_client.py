"""The least a Python client can do to send one change event: the benchmark's yardstick.

It reads the same ``INPUT_*`` variables as the action, imports the same libraries (requests and
PyJWT), reads ``exp`` from the access token without verifying it, exchanges the refresh token
only when the access token is missing or expires within a minute, and PUTs one change event over
one ``requests.Session``. No validation, no retries, no workflow commands, no outputs: whatever
the action spends beyond this script is the price of its features.
"""

import os
import sys
import time
from datetime import UTC, datetime

import jwt
import requests


def main() -> int:
    """Send one change event the plainest way; exit 1 on any HTTP error."""
    env = os.environ
    api_url = env["INPUT_API-URL"].rstrip("/")
    org = env["INPUT_ORG"]
    access = env.get("INPUT_ACCESS-TOKEN", "")
    refresh = env.get("INPUT_REFRESH-TOKEN", "")
    with requests.Session() as session:
        if not access or _expires_in(access) < 60:
            answer = session.post(
                f"{api_url}/api/v4/oauth/access_token",
                json={"refresh_token": refresh},
                timeout=10,
            )
            answer.raise_for_status()
            access = answer.json()["access_token"]
        body = {
            "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
            "event_name": env.get("INPUT_EVENT-NAME") or "deployment",
            "event_state": env.get("INPUT_EVENT-STATE") or "start",
            "attributes": {
                "service_name": env.get("GITHUB_REPOSITORY", "shop").rpartition("/")[2],
                "deployment_environment": env.get("INPUT_ENVIRONMENT", ""),
                "env": env.get("INPUT_ENVIRONMENT", ""),
                "commit_sha": env.get("GITHUB_SHA", ""),
            },
        }
        answer = session.put(
            f"{api_url}/api/v4/organizations/{org}/change_events",
            json=body,
            headers={"X-LAST9-API-TOKEN": f"Bearer {access}"},
            timeout=10,
        )
        answer.raise_for_status()
    return 0


def _expires_in(token: str) -> float:
    """Seconds until the token's ``exp``; 0 when it cannot be read."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return 0.0
    exp = claims.get("exp")
    return float(exp) - time.time() if isinstance(exp, int | float) else 0.0


if __name__ == "__main__":
    sys.exit(main())
