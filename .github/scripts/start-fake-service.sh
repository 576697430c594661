#!/usr/bin/env bash
# Start the project's fake Last9 API inside the job's `last9` service container (a plain
# python:3.12-slim kept alive with --tty), over https with a throwaway certificate for the name
# `last9`. Docker actions of a job with services run on the job's network, where the service
# answers by that name, exactly as a user's own service would.
#
# Usage: start-fake-service.sh CONTAINER_ID   (${{ job.services.last9.id }})
# Exports to later steps: LAST9_FAKE_URL, LAST9_FAKE_REFRESH_TOKEN (masked) and LAST9_FAKE_CA, a
# host path under the workspace, which the runner translates to /github/workspace/... for the action.
set -euo pipefail
id=${1:?usage: start-fake-service.sh CONTAINER_ID}
ca="$GITHUB_WORKSPACE/fake-last9-ca.pem"
key="$RUNNER_TEMP/fake-last9-key.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj "/CN=last9" -addext "subjectAltName=DNS:last9" -keyout "$key" -out "$ca" 2>/dev/null

docker exec "$id" mkdir -p /fake/tests
docker cp requirements.txt "$id:/fake/requirements.txt"
docker cp tests/__init__.py "$id:/fake/tests/__init__.py"
docker cp tests/fake_last9.py "$id:/fake/tests/fake_last9.py"
docker cp "$ca" "$id:/fake/cert.pem"
docker cp "$key" "$id:/fake/key.pem"
docker exec "$id" python -m pip install --quiet --no-deps --require-hashes \
  --root-user-action=ignore -r /fake/requirements.txt
# One JSON line (url, org, refresh token) to started.json, then one line per event to events.log.
docker exec -d -w /fake "$id" sh -c 'python -m tests.fake_last9 --host 0.0.0.0 --port 8443 \
  --tls-cert cert.pem --tls-key key.pem >started.json 2>events.log'
started=""
for _ in $(seq 50); do
  started=$(docker exec "$id" cat /fake/started.json 2>/dev/null || true)
  [[ -n "$started" ]] && break
  sleep 0.2
done
if [[ -z "$started" ]]; then
  echo "::error title=Fake Last9 did not start::$(docker exec "$id" cat /fake/events.log)"
  exit 1
fi
token=$(jq -r .refresh_token <<<"$started")
echo "::add-mask::$token"
{
  echo "LAST9_FAKE_URL=https://last9:8443"
  echo "LAST9_FAKE_REFRESH_TOKEN=$token"
  echo "LAST9_FAKE_CA=$ca"
} >>"$GITHUB_ENV"
echo "Fake Last9 listening as https://last9:8443 on the job's network"
