#!/usr/bin/env bash
# Single sign-on benchmark, one run on one machine: the round trip of a browser that already
# has an SSO session (authorize with the session cookie -> code -> token exchange with PKCE ->
# ID token) against `signet serve` on SQLite (and on PostgreSQL when a URL is set) and against
# panva's oidc-provider 9 with its development interactions (in-memory adapter); then password
# logins through each login form. One load driver (bench/src/sso.rs, one thread, 16 browsers)
# for all; each server's CPU time is read from /proc for the figures per CPU-second.
# Needs: node and npm, `cargo build --release -p signet-cli`, and
# `cargo build --release --manifest-path bench/Cargo.toml --bin sso-bench`.
# Usage: bash bench/issuer/sso.sh [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
signet=${SIGNET_BIN:-$root/target/release/signet}
driver=${SSO_BENCH_BIN:-$root/bench/target/release/sso-bench}
[ -x "$signet" ] || { echo "build it first: cargo build --release -p signet-cli" >&2; exit 1; }
[ -x "$driver" ] || { echo "build it first: cargo build --release --manifest-path bench/Cargo.toml --bin sso-bench" >&2; exit 1; }
(cd "$here" && [ -d node_modules/oidc-provider ] || npm install --silent --no-audit --no-fund)
pg_base=${SIGNET_BENCH_POSTGRES_URL:-${SIGNET_TEST_POSTGRES_URL:-}}
password='correct horse battery'
cb=https://rp.example/cb

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# signet_up NAME PORT DBURL: a data directory with a user and a first-party public client
# (authorization code only, as the peer's), served on PORT; leaves the server's pid in $pid.
signet_up() {
  local on=(env ${3:+SIGNET_DATABASE_URL=$3} "$signet")
  echo "$password" | "${on[@]}" user add alice --password-stdin --data-dir "$work/$1" >/dev/null
  "${on[@]}" client add rp --public --first-party --name "Bench RP" --redirect-uri "$cb" \
    --grant authorization_code --scope openid --data-dir "$work/$1" >/dev/null
  cat > "$work/$1.toml" <<TOML
listen = "127.0.0.1:$2"
issuer = "http://127.0.0.1:$2"
data_dir = "$work/$1"
login_attempts_per_user = 100000000
login_attempts_per_address = 100000000
TOML
  env ${3:+SIGNET_DATABASE_URL=$3} SIGNET_LOG=warn SIGNET_METRICS_LISTEN=off \
    "$signet" serve --config "$work/$1.toml" 2>"$work/$1.log" & pid=$!; pids+=($pid)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "signet serve on $2 did not start" >&2; cat "$work/$1.log" >&2; exit 1
}

# drive NAME ISSUER PID [--login]: one driver run, its JSON line prefixed by NAME.
drive() {
  local name=$1 issuer=$2 p=$3; shift 3
  echo "$name $("$driver" "$issuer" rp "$cb" alice "$password" --seconds "$secs" --connections 16 --pid "$p" "$@")"
}

results=()
node "$here/oidc-provider.mjs" 19191 "$work/oidc-tokens.txt" >"$work/oidc.log" 2>&1 & oidc=$!; pids+=($oidc)
for _ in $(seq 100); do [ -s "$work/oidc-tokens.txt" ] && break; sleep 0.1; done
drive warm http://127.0.0.1:19191 "$oidc" >/dev/null
results+=("$(drive oidc-rt http://127.0.0.1:19191 "$oidc")")
results+=("$(drive oidc-login http://127.0.0.1:19191 "$oidc" --login)")

signet_up sqlite 18181 ""
drive warm http://127.0.0.1:18181 "$pid" >/dev/null
results+=("$(drive sqlite-rt http://127.0.0.1:18181 "$pid")")
results+=("$(drive sqlite-login http://127.0.0.1:18181 "$pid" --login)")

if [ -n "$pg_base" ]; then
  schema="signet_sso_bench_$$"
  PGOPTIONS=--client-min-messages=warning psql -q "$pg_base" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
  sep='?'; case "$pg_base" in *\?*) sep='&';; esac
  signet_up pg 18282 "${pg_base}${sep}options=-c%20search_path%3D${schema}"
  drive warm http://127.0.0.1:18282 "$pid" >/dev/null
  results+=("$(drive pg-rt http://127.0.0.1:18282 "$pid")")
  results+=("$(drive pg-login http://127.0.0.1:18282 "$pid" --login)")
  PGOPTIONS=--client-min-messages=warning psql -q "$pg_base" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null || true
fi

printf '%s\n' "${results[@]}" > "$work/results.txt"
python3 "$here/sso_table.py" "$secs" < "$work/results.txt"
