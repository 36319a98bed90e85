#!/usr/bin/env bash
# Schemathesis against the issuer's own /openapi.json: a real `signet serve` on SQLite, with a
# user and clients, fuzzed from the document. Fails on any 5xx answer or any response that does
# not match the document. Uses the binary cargo built (target/debug/signet by default).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${SIGNET_BIN:-target/debug/signet}"
work=$(mktemp -d)
port=18480
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
export SIGNET_DATA_DIR="$work/data" SIGNET_METRICS_LISTEN=off NO_COLOR=1
echo 'correct horse battery' | "$bin" user add alice --password-stdin >/dev/null
"$bin" client add web --public --audience api --scope a >/dev/null
echo 'a-client-secret-of-at-least-32-characters' | "$bin" client add backend --secret-stdin --audience api --scope a --introspect >/dev/null
# An administrator and SSF receiver, for a second run over /admin and /ssf only.
echo 'an-admin-secret-of-at-least-32-characters' | "$bin" client add ops --secret-stdin --role admin --role ssf >/dev/null
"$bin" serve --listen "127.0.0.1:$port" 2>"$work/serve.log" &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
schemathesis run "http://127.0.0.1:$port/openapi.json" \
  --url "http://127.0.0.1:$port" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-60}" \
  --header 'Authorization: Basic YmFja2VuZDphLWNsaWVudC1zZWNyZXQtb2YtYXQtbGVhc3QtMzItY2hhcmFjdGVycw==' \
  --request-timeout 10 \
  --no-color 2>&1 | tee "$work/st.log" | tail -150
status=${PIPESTATUS[0]}
if [ "$status" = 0 ]; then
  schemathesis run "http://127.0.0.1:$port/openapi.json" \
    --url "http://127.0.0.1:$port" \
    --include-path-regex '^/(admin|ssf)' \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
    --max-examples "${SCHEMATHESIS_EXAMPLES:-60}" \
    --header 'Authorization: Basic b3BzOmFuLWFkbWluLXNlY3JldC1vZi1hdC1sZWFzdC0zMi1jaGFyYWN0ZXJz' \
    --request-timeout 15 \
    --no-color 2>&1 | tee -a "$work/st.log" | tail -80
  status=${PIPESTATUS[0]}
fi
if grep -q "panicked" "$work/serve.log"; then
  echo "the issuer panicked:"; grep -A3 panicked "$work/serve.log"; exit 1
fi
exit "$status"
