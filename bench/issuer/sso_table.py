"""The SSO benchmark's table: reads `NAME JSON` lines from bench/issuer/sso.sh, prints Markdown."""
import json
import sys

rows = {}
for line in sys.stdin:
    name, js = line.split(" ", 1)
    rows[name] = json.loads(js)
label = {
    "oidc": "oidc-provider 9 (in memory, dev interactions)",
    "sqlite": "signet serve (SQLite)",
    "pg": "signet serve (PostgreSQL)",
}
secs = sys.argv[1]
for kind, title in (
    ("rt", "SSO round trip with a session (authorize -> code -> token exchange with PKCE -> ID token)"),
    ("login", "password login through the login form (a fresh browser each time)"),
):
    base = rows["oidc-" + kind]
    print(f"\n{title}; 16 browsers, {secs}s, one driver thread, loopback\n")
    print("| implementation | flows/s | p50 | p99 | errors | server CPU-s | flows per server CPU-second | vs oidc-provider | per CPU-second vs oidc-provider |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for impl in ("oidc", "sqlite", "pg"):
        r = rows.get(impl + "-" + kind)
        if r is None:
            continue
        pc = r["per_cpu_second"] or 0
        bpc = base["per_cpu_second"] or 1
        cpu = r["server_cpu_seconds"] or 0
        print(
            f"| {label[impl]} | {r['per_second']:.0f} | {r['p50_ms']:.2f} ms | {r['p99_ms']:.2f} ms "
            f"| {r['errors']} | {cpu:.1f} | {pc:.0f} | {r['per_second'] / base['per_second']:.2f}x | {pc / bpc:.2f}x |"
        )
    for impl in ("oidc", "sqlite", "pg"):
        r = rows.get(impl + "-" + kind)
        if r and r["errors"]:
            print(f"\n{impl} {kind}: {r['errors']} errors, the last: {r['last_error']}")
