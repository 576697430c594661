#!/usr/bin/env bash
# Start the project's fake Last9 API on the Docker bridge's address, over https with a throwaway
# certificate, for the self-test. Exports STUB_URL and STUB_REFRESH_TOKEN (masked) to later steps.
set -euo pipefail
python -m pip install --quiet --no-deps --require-hashes -r requirements.txt
gateway=$(ip -4 -o addr show docker0 | awk '{print $4}' | cut -d/ -f1)
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$gateway" \
  -addext "subjectAltName=IP:$gateway" -keyout stub-key.pem -out stub-ca.pem 2>/dev/null
nohup python -m tests.fake_last9 --host 0.0.0.0 --port 8443 \
  --tls-cert stub-ca.pem --tls-key stub-key.pem >stub.json 2>stub-events.log &
for _ in $(seq 50); do [ -s stub.json ] && break; sleep 0.2; done
token=$(jq -r .refresh_token stub.json)
echo "::add-mask::$token"
{
  echo "STUB_URL=https://$gateway:8443"
  echo "STUB_REFRESH_TOKEN=$token"
} >>"$GITHUB_ENV"
