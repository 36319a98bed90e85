#!/usr/bin/env bash
# Issuer load benchmark, one run on one machine: `signet serve` on SQLite, on PostgreSQL with
# one instance and with two instances sharing the database, and panva's oidc-provider 9
# (in-memory adapter); client_credentials and refresh_token grants, wrk over loopback (one wrk
# -t1 -c16 per server; for two instances one wrk -t1 -c8 on each, their rates summed).
# Needs: wrk (apt-get install wrk), node and npm, psql, `cargo build --release -p signet-cli`,
# and for PostgreSQL SIGNET_BENCH_POSTGRES_URL (or SIGNET_TEST_POSTGRES_URL); without it the
# PostgreSQL rows are left out.
# Usage: bash bench/issuer/run.sh [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
signet=${SIGNET_BIN:-$root/target/release/signet}
[ -x "$signet" ] || { echo "build it first: cargo build --release -p signet-cli" >&2; exit 1; }
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk" >&2; exit 1; }
(cd "$here" && [ -d node_modules/oidc-provider ] || npm install --silent --no-audit --no-fund)
pg_base=${SIGNET_BENCH_POSTGRES_URL:-${SIGNET_TEST_POSTGRES_URL:-}}

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }

# seed NAME DBURL: a data directory with a user, a public and a confidential client; prints the
# confidential client's secret.
seed() {
  local data="$work/$1"
  local on=(env ${2:+SIGNET_DATABASE_URL=$2} "$signet")
  echo 'correct horse battery' | "${on[@]}" user add alice --password-stdin --data-dir "$data" >/dev/null
  "${on[@]}" client add web --public --audience urn:bench:api --scope read --data-dir "$data" >/dev/null
  "${on[@]}" client add backend --audience urn:bench:api --scope read --data-dir "$data" | sed -n 's/.*(shown once): //p'
}

# serve NAME PORT DBURL: starts an instance over data directory NAME.
serve() {
  cat > "$work/$1-$2.toml" <<TOML
listen = "127.0.0.1:$2"
issuer = "http://signet.bench"
data_dir = "$work/$1"
login_attempts_per_user = 100000
login_attempts_per_address = 100000
TOML
  env ${3:+SIGNET_DATABASE_URL=$3} SIGNET_LOG=warn SIGNET_METRICS_LISTEN=off \
    "$signet" serve --config "$work/$1-$2.toml" 2>"$work/$1-$2.log" & pids+=($!)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "signet serve on $2 did not start" >&2; cat "$work/$1-$2.log" >&2; exit 1
}

# logins PORT FILE: 64 logins at PORT, their refresh tokens into FILE.
logins() {
  for _ in $(seq 64); do
    curl -s -d grant_type=password -d client_id=web -d username=alice -d 'password=correct horse battery' \
      "http://127.0.0.1:$1/oauth2/token" | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p'
    echo
  done > "$2"
}

# wrk1 NAME URL TOKEN_PATH SCRIPT AUTH EXTRA TOKENS CONNECTIONS -> "rps p99 non2xx"
wrk1() {
  local out
  out=$(TOKEN_PATH="$3" AUTH="$5" EXTRA="$6" TOKENS="$7" wrk -t1 -c"$8" -d"${secs}s" --latency -s "$here/$4" "$2" 2>&1)
  local rps p99 bad
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "${rps:-0} ${p99:-?} ${bad:-0}"
}

results=()
# --- oidc-provider
node "$here/oidc-provider.mjs" 19191 "$work/oidc-tokens.txt" >"$work/oidc.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -s "$work/oidc-tokens.txt" ] && break; sleep 0.1; done
oidc_auth=$(basic backend bench-secret-bench-secret-bench-secret-1234)
oidc_extra="&resource=urn:bench:api&scope=read"
wrk1 warm http://127.0.0.1:19191 /token client_credentials.lua "$oidc_auth" "$oidc_extra" /dev/null 16 >/dev/null
results+=("oidc cc $(wrk1 x http://127.0.0.1:19191 /token client_credentials.lua "$oidc_auth" "$oidc_extra" /dev/null 16)")
results+=("oidc refresh $(wrk1 x http://127.0.0.1:19191 /token refresh.lua "$oidc_auth" "" "$work/oidc-tokens.txt" 16)")

# --- Signet on SQLite
secret=$(seed sqlite "")
serve sqlite 18181 ""
auth=$(basic backend "$secret")
logins 18181 "$work/sqlite-tokens.txt"
wrk1 warm http://127.0.0.1:18181 /oauth2/token client_credentials.lua "$auth" "" /dev/null 16 >/dev/null
results+=("sqlite cc $(wrk1 x http://127.0.0.1:18181 /oauth2/token client_credentials.lua "$auth" "" /dev/null 16)")
results+=("sqlite refresh $(wrk1 x http://127.0.0.1:18181 /oauth2/token refresh.lua "" "&client_id=web" "$work/sqlite-tokens.txt" 16)")

# --- Signet on PostgreSQL: one instance, then two sharing the database
if [ -n "$pg_base" ]; then
  schema="signet_bench_$$"
  psql -q "$pg_base" -c "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null
  sep='?'; case "$pg_base" in *\?*) sep='&';; esac
  db="${pg_base}${sep}options=-c%20search_path%3D${schema}"
  secret=$(seed pg "$db")
  auth=$(basic backend "$secret")
  serve pg 18282 "$db"
  logins 18282 "$work/pg-tokens.txt"
  wrk1 warm http://127.0.0.1:18282 /oauth2/token client_credentials.lua "$auth" "" /dev/null 16 >/dev/null
  results+=("pg1 cc $(wrk1 x http://127.0.0.1:18282 /oauth2/token client_credentials.lua "$auth" "" /dev/null 16)")
  results+=("pg1 refresh $(wrk1 x http://127.0.0.1:18282 /oauth2/token refresh.lua "" "&client_id=web" "$work/pg-tokens.txt" 16)")
  serve pg 18383 "$db"
  logins 18282 "$work/pg-a.txt"; logins 18383 "$work/pg-b.txt"
  for grant in cc refresh; do
    if [ "$grant" = cc ]; then script=client_credentials.lua; a=("$auth" "" /dev/null); b=("$auth" "" /dev/null)
    else script=refresh.lua; a=("" "&client_id=web" "$work/pg-a.txt"); b=("" "&client_id=web" "$work/pg-b.txt"); fi
    wrk1 x http://127.0.0.1:18282 /oauth2/token "$script" "${a[@]}" 8 > "$work/two-a" & wa=$!
    wrk1 x http://127.0.0.1:18383 /oauth2/token "$script" "${b[@]}" 8 > "$work/two-b" & wb=$!
    wait "$wa" "$wb"
    results+=("pg2 $grant $(awk 'NR==FNR {r=$1; p=$2; n=$3; next} {printf "%.2f %s/%s %d", r+$1, p, $2, n+$3}' "$work/two-a" "$work/two-b")")
  done
fi

printf '%s\n' "${results[@]}" | awk -v secs="$secs" '
  { rps[$1 " " $2] = $3; p99[$1 " " $2] = $4; bad[$1 " " $2] = $5; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
  END {
    label["sqlite"] = "signet serve (SQLite)"; label["pg1"] = "signet serve (PostgreSQL, 1 instance)"
    label["pg2"] = "signet serve (PostgreSQL, 2 instances)"; label["oidc"] = "oidc-provider 9 (in memory)"
    printf "wrk -t1, 16 connections in all, %ss, loopback\n\n", secs
    printf "| grant | implementation | requests/s | p99 latency | non-2xx | vs oidc-provider |\n|---|---|---:|---:|---:|---:|\n"
    split("cc refresh", grants, " ")
    for (g = 1; g <= 2; g++) {
      name = grants[g] == "cc" ? "client_credentials" : "refresh_token"
      for (i = 1; i <= n; i++) {
        k = order[i] " " grants[g]
        if (k in rps) printf "| %s | %s | %.0f | %s | %s | %.2fx |\n", name, label[order[i]], rps[k], p99[k], bad[k], rps[k] / rps["oidc " grants[g]]
      }
    }
  }'
