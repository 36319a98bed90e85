#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), from the seed corpora made by seed.py.
# Needs the nightly toolchain and cargo-fuzz (installed here if missing). A crash fails the run
# and leaves its input in fuzz/artifacts/<target>/; keep it as a regression input under
# fuzz/regressions/<target>/ once fixed.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-30}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(token_verify jwk key_load claims token_form proxy_request)
fi
command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
python3 seed.py >/dev/null
cargo +nightly fuzz build -O "${targets[@]/#/}" >/dev/null 2>&1 || cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  if [ -d "regressions/$t" ]; then cp regressions/"$t"/* "corpus/$t/" 2>/dev/null || true; fi
  echo "fuzz: $t for ${seconds}s"
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 \
    -max_len=20000 2>&1 | grep -E "^(#[0-9]+.*DONE|Done|INFO: Running|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written)" | tail -4
  test "${PIPESTATUS[0]}" -eq 0
done
