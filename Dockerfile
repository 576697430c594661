# The last9-change-event action's image. The GitHub runner builds it with
# `docker build -t <tag> -f Dockerfile <action dir>` and runs it as root (Docker actions must:
# no USER line) with --workdir /github/workspace, so every path below is absolute.
#
# python:3.12-slim pinned by the digest of its multi-platform index (linux/amd64, arm64, ...;
# Python 3.12.13 on Debian trixie), as published in docker-library/repo-info
# repos/python/remote/3.12-slim.md at commit 2986dca3a80cb11b70fc4599941096374ea9e509
# (images dated 2026-08-05 to 2026-08-07). Dependabot proposes new digests: the line is a literal
# image reference, as its Docker file parser reads (no ARG, which it cannot follow).
# Builds without a registry put a stand-in under this exact name: scripts/standin-base.
FROM python:3.12-slim@sha256:229a2c5bfa27522db7815ea81f9bed70af17ccb9de9fc7ad142b1877b5830d36

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Exactly the pinned, hashed packages of requirements.txt and nothing they would drag in
# (actions-toolkit's PyGithub, cryptography, PyNaCl: see requirements.in). pip byte-compiles them
# here, at build time: PYTHONDONTWRITEBYTECODE keeps the container from writing bytecode at run
# time, so without it every step would recompile requests & co. from source.
COPY requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir --root-user-action=ignore --no-deps --require-hashes \
        -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY entrypoint.py post.py /action/
COPY src/last9_change_event/ /action/src/last9_change_event/
# post.py is the post-entrypoint (run directly, through its shebang); byte-compile our package too.
RUN chmod 0755 /action/entrypoint.py /action/post.py \
    && python -m compileall -q /action/src

ENTRYPOINT ["python", "/action/entrypoint.py"]
