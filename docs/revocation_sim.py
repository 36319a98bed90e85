"""A small simulation of Signet's revocation model at scale, for docs/revocation.md.

10,000 verifiers follow the feed; the issuer writes 10,000 revocations a minute, of mixed kinds;
access tokens live 10 minutes and verifiers allow 60 s of leeway. The simulation runs two
simulated hours in one-second steps and reports the entries a verifier holds (mean and peak),
its memory at the per-entry cost the guard benchmark measured, the feed's bandwidth, and what a
verifier that was offline for an hour fetches when it comes back.

Run: python3 docs/revocation_sim.py [BYTES_PER_ENTRY]   (default 126, from guard-bench)
"""

import json
import random
import sys

VERIFIERS = 10_000
PER_MINUTE = 10_000
LIFETIME = 600  # access-token lifetime, s
LEEWAY = 60  # verifier leeway, s
SECONDS = 2 * 3600
BYTES_PER_ENTRY = float(sys.argv[1]) if len(sys.argv) > 1 else 126.0
# The mix: most revocations name one token; the wide ones (a user, a session, a client) are one
# entry each however many tokens they cover.
MIX = [("jti", 0.70), ("subject", 0.15), ("session", 0.14), ("client", 0.01)]
# One feed event as the issuer streams it (SSE framing and JSON), by kind, in bytes.
EVENT_BYTES = {"jti": 118, "subject": 140, "session": 112, "client": 128}


def kind(rng):
    r = rng.random()
    for name, share in MIX:
        if r < share:
            return name
        r -= share
    return MIX[-1][0]


def main():
    rng = random.Random(7)
    live = []  # (until, kind): when the verifier may drop the entry
    held, sent_bytes = [], 0
    rate = PER_MINUTE / 60
    for t in range(SECONDS):
        # Poisson arrivals, approximated by a rounded normal draw around the rate.
        n = max(0, round(rng.gauss(rate, rate ** 0.5)))
        for _ in range(n):
            k = kind(rng)
            if k == "jti":
                # A revoked token is somewhere in its life: it expires within the lifetime.
                until = t + rng.uniform(0, LIFETIME)
            else:
                # A cutoff covers tokens issued up to now: the last one expires a lifetime on.
                until = t + LIFETIME
            live.append((until + LEEWAY, k))
            sent_bytes += EVENT_BYTES[k]
        live = [e for e in live if e[0] >= t]
        if t >= LIFETIME + LEEWAY:  # past the warm-up
            held.append(len(live))
    mean = sum(held) / len(held)
    peak = max(held)
    per_second = sent_bytes / SECONDS
    catch_up = len(live)  # after an hour offline, only what is still live is fetched
    catch_up_bytes = sum(EVENT_BYTES[k] for _, k in live)
    print(json.dumps({
        "entries_mean": round(mean),
        "entries_peak": peak,
        "memory_per_verifier_mib_peak": round(peak * BYTES_PER_ENTRY / 2**20, 1),
        "feed_bytes_per_second_per_verifier": round(per_second),
        "feed_bytes_per_second_all_verifiers_mb": round(per_second * VERIFIERS / 1e6, 1),
        "offline_hour_catch_up_entries": catch_up,
        "offline_hour_catch_up_kib": round(catch_up_bytes / 1024),
        "offline_hour_catch_up_pages_of_1000": -(-catch_up // 1000),
    }, indent=2))


main()
