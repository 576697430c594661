"""The release rehearsal's last look at the tagged action: a real runner (nektos/act) uses it.

    python scripts/rehearse_act.py ACTION_YML

scripts/rehearse-release runs this after the tag job, with podman's settings in the
environment: CONTAINERS_STORAGE_CONF an image store that holds only the stand-in base (the job's
image), CONTAINERS_REGISTRIES_CONF naming the rehearsal's registry, and REGISTRY_AUTH_FILE
holding no credentials. act (tests/act/harness.py) runs a user's release workflow with
`uses: ./` whose action.yml is ACTION_YML, the release commit's, pinned to `docker://...@sha256:`:
the runner pulls the image anonymously from the registry and runs the main step and, at the
job's end, the post step, which send a start and a stop to a fake Last9 on the bridge.
Exit 0 when the fake received both; the act log and the events otherwise.
"""

from __future__ import annotations

import os
import shutil
import ssl
import sys
import tempfile
from pathlib import Path

from tests.act.harness import Act, act_binary, podman_api, workflow
from tests.certs import make_tls_files
from tests.container.engine import Engine
from tests.container.podman import STANDIN_BASE
from tests.fake_last9 import FakeLast9
from tests.github_run import RELEASE_EVENT

SETTINGS = ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "CONTAINERS_REGISTRIES_CONF")


def main(argv: list[str]) -> int:
    manifest = Path(argv[1]).read_text(encoding="utf-8")
    pinned = next(
        line.split("docker://", 1)[1] for line in manifest.splitlines() if "docker://" in line
    )
    podman = shutil.which("podman")
    if podman is None:
        print("rehearse-act: podman is not on PATH", file=sys.stderr)
        return 1
    env = {name: os.environ[name] for name in (*SETTINGS, "REGISTRY_AUTH_FILE")}
    engine = Engine("podman", podman, env, STANDIN_BASE, "podman", reliable_rm=True)
    binary = act_binary()
    with tempfile.TemporaryDirectory(prefix="rehearse-act-") as scratch, podman_api(engine) as host:
        folder = Path(scratch)
        act = Act(binary, engine, host, "podman", STANDIN_BASE)
        gateway = engine.bridge_gateway()
        cert, key = make_tls_files(folder, gateway)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        with FakeLast9(org="acme", host="0.0.0.0", tls=context) as fake:  # noqa: S104 (bridge)
            url = f"https://{gateway}:{fake.url.rsplit(':', 1)[1]}"
            repo = act.workspace(folder / "ws", cert, manifest=manifest)
            refresh = fake.mint("refresh", scopes=("write",), ttl=None)
            event = {**RELEASE_EVENT, "repository": {"full_name": "acme/shop", "name": "shop"}}
            done = act.run(
                repo,
                workflow(url, environment="release-rehearsal"),
                event,
                {"LAST9_REFRESH_TOKEN": refresh},
            )
            states = [e["event_state"] for e in fake.events()]
        pulled = engine.run("image", "exists", pinned).returncode == 0
    ok = done.returncode == 0 and states == ["start", "stop"] and pulled
    print(
        f"rehearse-act: act exit {done.returncode}, steps {done.steps()}, "
        f"events {states}, {pinned} pulled anonymously: {pulled}",
        file=sys.stderr,
    )
    if not ok:
        print(done.log[-8000:], file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
