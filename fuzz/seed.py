#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the public vectors in
crates/signet/tests/vectors (tokens, JWKs, JWKS documents, PEM/DER keys) and a few
hand-written requests. Run from anywhere; writes fuzz/corpus/<target>/."""
import base64, hashlib, json, pathlib

here = pathlib.Path(__file__).resolve().parent
vectors = here.parent / "crates/signet/tests/vectors"
corpus = here / "corpus"

def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = corpus / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)

def walk(v):
    if isinstance(v, dict):
        yield v
        for x in v.values():
            yield from walk(x)
    elif isinstance(v, list):
        for x in v:
            yield from walk(x)

for path in sorted(vectors.rglob("*.json")):
    doc = json.loads(path.read_text())
    for obj in walk(doc):
        for key, value in obj.items():
            if isinstance(value, str) and value.count(".") == 2 and len(value) < 20000:
                put("token_verify", value)
                parts = value.split(".")
                try:
                    payload = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
                    put("claims", payload)
                except Exception:
                    pass
        if "kty" in obj:
            put("jwk", json.dumps(obj))
            try:  # PEM and DER forms of the same keys, when jwcrypto is installed
                from jwcrypto import jwk as jw
                from cryptography.hazmat.primitives import serialization as ser
                k = jw.JWK(**obj)
                if obj["kty"] != "oct":
                    for private in ([True, False] if k.has_private else [False]):
                        pem = k.export_to_pem(private_key=private, password=None)
                        put("key_load", b"\x00" + pem)
                        raw = k.get_op_key("sign" if private else "verify")
                        der = (raw.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
                               if private else raw.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo))
                        put("key_load", b"\x02" + der)
            except Exception:
                pass
        if "keys" in obj and isinstance(obj["keys"], list):
            put("jwk", json.dumps(obj))
        for key in ("keyPem", "pem", "publicKeyPem", "privateKeyPem"):
            if isinstance(obj.get(key), str):
                put("key_load", b"\x00" + obj[key].encode())
        for key in ("keyDer", "der", "publicKeyDer", "privateKeyDer"):
            if isinstance(obj.get(key), str):
                try:
                    put("key_load", b"\x02" + bytes.fromhex(obj[key]))
                except ValueError:
                    pass

for payload in ['{"iss":"https://issuer.example","aud":"api","exp":1767226200,"iat":1767225600,"sub":"a"}',
                '{"iss":"https://issuer.example","aud":["api","x"],"exp":1767226200,"nbf":1767225500}']:
    put("claims", payload)
for auth, body in [("", "grant_type=password&client_id=web&username=alice&password=pw"),
                   ("Basic YmFja2VuZDpzZWNyZXQ=", "grant_type=client_credentials&scope=a%20b"),
                   ("basic YSUzQWI6Yw==", "grant_type=refresh_token&refresh_token=x&client_id=a%3Ab")]:
    put("token_form", f"{auth}\n{body}")
for req in ["/x/../y\nX_Signet_Sub: root\nConnection: close, X-A\nX-A: 1",
            "/%2e%2e/admin?q=1\nx-signet-scope: admin\nProxy-Authorization: Basic eA==",
            "/a/./b/%2E/c/..;/d\naccept: */*"]:
    put("proxy_request", req)
print({d.name: len(list(d.iterdir())) for d in sorted(corpus.iterdir())})
