#!/usr/bin/env bash
# Issuer load benchmark: Signet's `signet serve` (SQLite) against panva's oidc-provider 9
# (in-memory adapter), client_credentials and refresh_token grants, one run, wrk -t1 -c16.
# Needs: wrk (apt-get install wrk), node and npm, and `cargo build --release -p signet-cli`.
# Usage: bash bench/issuer/run.sh [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-10}
signet="$root/target/release/signet"
[ -x "$signet" ] || { echo "build it first: cargo build --release -p signet-cli" >&2; exit 1; }
command -v wrk >/dev/null || { echo "install wrk: apt-get install wrk" >&2; exit 1; }
(cd "$here" && [ -d node_modules/oidc-provider ] || npm install --silent --no-audit --no-fund)

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# --- Signet: data, clients, a user, and 64 logins for refresh chains.
data="$work/signet-data"
echo 'correct horse battery' | "$signet" user add alice --password-stdin --data-dir "$data" >/dev/null
"$signet" client add web --public --audience urn:bench:api --scope read --data-dir "$data" >/dev/null
secret=$("$signet" client add backend --audience urn:bench:api --scope read --data-dir "$data" | sed -n 's/.*(shown once): //p')
cat > "$work/signet.toml" <<TOML
listen = "127.0.0.1:18181"
data_dir = "$data"
login_attempts_per_user = 1000
login_attempts_per_address = 1000
TOML
SIGNET_LOG=warn "$signet" serve --config "$work/signet.toml" 2>"$work/signet.log" & pids+=($!)
node "$here/oidc-provider.mjs" 19191 "$work/oidc-tokens.txt" >"$work/oidc.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do
  curl -sf http://127.0.0.1:18181/healthz >/dev/null 2>&1 && [ -s "$work/oidc-tokens.txt" ] && break
  sleep 0.2
done
for _ in $(seq 64); do
  curl -s -d grant_type=password -d client_id=web -d username=alice -d 'password=correct horse battery' \
    http://127.0.0.1:18181/oauth2/token | sed -n 's/.*"refresh_token":"\([^"]*\)".*/\1/p'
  echo
done > "$work/signet-tokens.txt"

basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
signet_auth=$(basic backend "$secret")
oidc_auth=$(basic backend bench-secret-bench-secret-bench-secret-1234)

# run NAME URL SCRIPT AUTH EXTRA TOKENS -> "rps p99_ms non2xx"
run() {
  local out
  out=$(TOKEN_PATH="$3" AUTH="$5" EXTRA="$6" TOKENS="$7" wrk -t1 -c16 -d"${secs}s" --latency -s "$here/$4" "$2" 2>&1)
  local rps p99 bad
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "$1 ${rps:-0} ${p99:-?} ${bad:-0}"
}

results=()
# Warm both servers up, then measure.
run warm http://127.0.0.1:18181 /oauth2/token client_credentials.lua "$signet_auth" "" /dev/null >/dev/null
run warm http://127.0.0.1:19191 /token client_credentials.lua "$oidc_auth" "&resource=urn:bench:api&scope=read" /dev/null >/dev/null
results+=("$(run signet-cc http://127.0.0.1:18181 /oauth2/token client_credentials.lua "$signet_auth" "" /dev/null)")
results+=("$(run oidc-cc http://127.0.0.1:19191 /token client_credentials.lua "$oidc_auth" "&resource=urn:bench:api&scope=read" /dev/null)")
results+=("$(run signet-refresh http://127.0.0.1:18181 /oauth2/token refresh.lua "" "&client_id=web" "$work/signet-tokens.txt")")
results+=("$(run oidc-refresh http://127.0.0.1:19191 /token refresh.lua "$oidc_auth" "" "$work/oidc-tokens.txt")")

printf '%s\n' "${results[@]}" | awk -v secs="$secs" '
  { name[NR] = $1; rps[$1] = $2; p99[$1] = $3; bad[$1] = $4 }
  END {
    printf "wrk -t1 -c16 -d%ss, loopback\n\n", secs
    printf "| grant | implementation | requests/s | p99 latency | non-2xx | vs oidc-provider |\n|---|---|---:|---:|---:|---:|\n"
    split("cc refresh", grants, " ")
    for (g = 1; g <= 2; g++) {
      label = grants[g] == "cc" ? "client_credentials" : "refresh_token"
      s = "signet-" grants[g]; o = "oidc-" grants[g]
      printf "| %s | signet serve (SQLite) | %.0f | %s | %s | %.2fx |\n", label, rps[s], p99[s], bad[s], rps[s] / rps[o]
      printf "| %s | oidc-provider 9 (in memory) | %.0f | %s | %s | 1.00x |\n", label, rps[o], p99[o], bad[o]
    }
  }'
