"""Interoperability peer for Signet's tests: PyJWT and jwcrypto, the two most used Python JOSE
libraries. `verify FILE` checks tokens Signet signed; `sign` prints keys and tokens made by the
Python libraries for Signet to check. Reads and writes JSON only."""

import json
import sys
import time

import jwt as pyjwt
from jwcrypto import jwk as jc_jwk
from jwcrypto import jwt as jc_jwt

ISS = "https://issuer.example"
AUD = "api"

GENERATE = {
    "HS256": dict(kty="oct", size=256),
    "HS384": dict(kty="oct", size=384),
    "HS512": dict(kty="oct", size=512),
    "RS256": dict(kty="RSA", size=2048),
    "RS384": dict(kty="RSA", size=2048),
    "RS512": dict(kty="RSA", size=2048),
    "PS256": dict(kty="RSA", size=2048),
    "PS384": dict(kty="RSA", size=2048),
    "PS512": dict(kty="RSA", size=2048),
    "ES256": dict(kty="EC", crv="P-256"),
    "ES384": dict(kty="EC", crv="P-384"),
    "ES512": dict(kty="EC", crv="P-521"),
    "ES256K": dict(kty="EC", crv="secp256k1"),
    "EdDSA": dict(kty="OKP", crv="Ed25519"),
}


def verify(path):
    results = []
    for case in json.load(open(path)):
        alg, key, token = case["alg"], case["jwk"], case["token"]
        out = {"alg": alg}
        try:
            claims = pyjwt.decode(token, pyjwt.PyJWK(key).key, algorithms=[alg], audience=AUD, issuer=ISS)
            out["pyjwt"] = "ok" if claims["sub"] == case["sub"] else "wrong sub"
        except Exception as e:  # noqa: BLE001 - the message is the result
            out["pyjwt"] = f"{type(e).__name__}: {e}"
        try:
            t = jc_jwt.JWT(jwt=token, key=jc_jwk.JWK(**key), algs=[alg], check_claims={"iss": ISS, "aud": AUD, "exp": None})
            out["jwcrypto"] = "ok" if json.loads(t.claims)["sub"] == case["sub"] else "wrong sub"
        except Exception as e:  # noqa: BLE001
            out["jwcrypto"] = f"{type(e).__name__}: {e}"
        results.append(out)
    json.dump(results, sys.stdout)


def sign():
    now = int(time.time())
    cases = []
    for alg, params in GENERATE.items():
        key = jc_jwk.JWK.generate(alg=alg, use="sig", kid=f"py-{alg}", **params)
        claims = {"iss": ISS, "aud": AUD, "sub": f"py-{alg}", "iat": now, "exp": now + 300}
        if params["kty"] == "oct":
            pyjwt_key = pyjwt.PyJWK(key.export(private_key=True, as_dict=True)).key
            public = key.export(private_key=True, as_dict=True)
        else:
            pyjwt_key = key.export_to_pem(private_key=True, password=None)
            public = key.export(private_key=False, as_dict=True)
        by_pyjwt = pyjwt.encode(claims, pyjwt_key, algorithm=alg, headers={"kid": key.kid})
        t = jc_jwt.JWT(header={"alg": alg, "kid": key.kid}, claims=claims)
        t.make_signed_token(key)
        cases.append({"alg": alg, "jwk": public, "tokens": {"pyjwt": by_pyjwt, "jwcrypto": t.serialize()}})
    json.dump(cases, sys.stdout)


if __name__ == "__main__":
    verify(sys.argv[2]) if sys.argv[1] == "verify" else sign()
