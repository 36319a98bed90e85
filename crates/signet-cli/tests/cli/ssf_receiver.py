"""An OpenID Shared Signals receiver written for Signet's tests, with only the standard library,
PyJWT and jwcrypto. Against a running `signet serve` it discovers the transmitter, creates a
push stream whose receiver is down at first, and a poll stream; makes the issuer emit events
through the admin API; receives the Security Event Tokens by push (RFC 8935, once the receiver
comes up) and by poll (RFC 8936); verifies every one with the issuer's JWKS through both
libraries; and acknowledges them. Prints what it saw as JSON; the Rust test judges it.

Usage: ssf_receiver.py ISSUER RECEIVER_ID RECEIVER_SECRET ADMIN_ID ADMIN_SECRET PORT
"""

import base64
import http.server
import json
import sys
import threading
import time
import urllib.error
import urllib.request

import jwt as pyjwt
from jwcrypto import jwk as jc_jwk
from jwcrypto import jwt as jc_jwt

ISSUER, RX_ID, RX_SECRET, ADMIN_ID, ADMIN_SECRET, PORT = sys.argv[1:7]
PUSH_AUTH = "Bearer push-secret-of-the-receiver"
SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
CREDENTIAL_CHANGE = "https://schemas.openid.net/secevent/caep/event-type/credential-change"
VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification"


def basic(cid, secret):
    return "Basic " + base64.b64encode(f"{cid}:{secret}".encode()).decode()


def call(method, url, body=None, auth=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("content-type", "application/json")
    req.add_header("authorization", auth or basic(RX_ID, RX_SECRET))
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            text = res.read().decode()
            return res.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        return e.code, (json.loads(text) if text else None)


config = json.load(urllib.request.urlopen(ISSUER + "/.well-known/ssf-configuration"))
jwks = json.load(urllib.request.urlopen(config["jwks_uri"]))
jwk_client = pyjwt.PyJWKClient(config["jwks_uri"])
keyset = jc_jwk.JWKSet.from_json(json.dumps(jwks))


def verify(token):
    """Both libraries must accept the SET; returns its claims and header."""
    header = pyjwt.get_unverified_header(token)
    key = jwk_client.get_signing_key_from_jwt(token)
    claims = pyjwt.decode(
        token,
        key.key,
        algorithms=[header["alg"]],
        audience=RX_ID,
        issuer=config["issuer"],
        options={"require": ["iss", "aud", "iat", "jti"]},
    )
    checked = jc_jwt.JWT(jwt=token, key=keyset, algs=[header["alg"]], check_claims={"iss": config["issuer"], "aud": RX_ID})
    assert json.loads(checked.claims)["jti"] == claims["jti"]
    return header, claims


def summary(token):
    header, claims = verify(token)
    (event_type, payload), = claims["events"].items()
    return {
        "typ": header.get("typ"),
        "kid_in_jwks": any(k.get("kid") == header.get("kid") for k in jwks["keys"]),
        "jti": claims["jti"],
        "event": event_type,
        "payload": payload,
        "sub_id": claims.get("sub_id"),
        "has_exp": "exp" in claims,
    }


out = {"config": config}

# --- Push: the stream is made while the receiver is down. ---
status, push_stream = call("POST", config["configuration_endpoint"], {
    "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": f"http://127.0.0.1:{PORT}/events", "authorization_header": PUSH_AUTH},
    "events_requested": [SESSION_REVOKED, CREDENTIAL_CHANGE],
    "description": "push, receiver down at first",
})
out["push_create"] = status
out["push_stream"] = push_stream
status, _ = call("POST", config["verification_endpoint"], {"stream_id": push_stream["stream_id"], "state": "are-you-there"})
out["verify_status"] = status
admin = basic(ADMIN_ID, ADMIN_SECRET)
status, revoked = call("POST", ISSUER + "/admin/users/alice/revoke", auth=admin)
out["alice_sub"] = revoked["target"]
status, changed = call("POST", ISSUER + "/admin/users/bob/password", {"password": "bob-password-2"}, auth=admin)
out["bob_sub"] = changed["target"]
time.sleep(2.5)  # the issuer's first pushes fail: nobody listens

received = []
unauthorized = []


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["content-length"])).decode()
        if self.headers.get("authorization") != PUSH_AUTH:
            unauthorized.append(1)
            self.send_response(401)
            self.end_headers()
            return
        try:
            received.append({"content_type": self.headers.get("content-type"), **summary(body)})
            self.send_response(202)
            self.end_headers()
        except Exception as e:  # a SET that does not verify is refused (RFC 8935 error)
            self.send_response(400)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"err": "invalid_request", "description": str(e)}).encode())

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", int(PORT)), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
deadline = time.time() + 40
while time.time() < deadline and len(received) < 4:
    time.sleep(0.1)
time.sleep(1.5)  # anything acknowledged must not come again
server.shutdown()
out["pushed"] = received

# --- Poll: events wait in the stream until acknowledged. ---
status, poll_stream = call("POST", config["configuration_endpoint"], {
    "delivery": {"method": "urn:ietf:rfc:8936"},
    "events_requested": [SESSION_REVOKED],
})
out["poll_stream"] = poll_stream
poll_url = poll_stream["delivery"]["endpoint_url"]
status, carol = call("POST", ISSUER + "/admin/users/carol/revoke", auth=admin)
out["carol_sub"] = carol["target"]
status, first = call("POST", poll_url, {"returnImmediately": False, "maxEvents": 10})
out["poll_first"] = {jti: summary(set_) for jti, set_ in first["sets"].items()}
status, again = call("POST", poll_url, {"ack": list(first["sets"]), "returnImmediately": True})
out["poll_after_ack"] = again
# A removed subject gets no more events on that stream.
subject = {"format": "iss_sub", "iss": config["issuer"], "sub": carol["target"]}
out["remove_subject"] = call("POST", config["remove_subject_endpoint"], {"stream_id": poll_stream["stream_id"], "subject": subject})[0]
call("POST", ISSUER + "/admin/users/carol/revoke", auth=admin)
status, removed = call("POST", poll_url, {"returnImmediately": True})
out["poll_after_remove"] = removed
out["add_subject"] = call("POST", config["add_subject_endpoint"], {"stream_id": poll_stream["stream_id"], "subject": subject})[0]

# --- Management: read, update, status, delete, and another client's view. ---
out["read_one"] = call("GET", config["configuration_endpoint"] + "?stream_id=" + poll_stream["stream_id"])
out["read_all"] = call("GET", config["configuration_endpoint"])[1]
out["patch"] = call("PATCH", config["configuration_endpoint"], {"stream_id": poll_stream["stream_id"], "description": "changed"})
out["paused"] = call("POST", config["status_endpoint"], {"stream_id": poll_stream["stream_id"], "status": "paused", "reason": "maintenance"})
out["status"] = call("GET", config["status_endpoint"] + "?stream_id=" + poll_stream["stream_id"])
out["bad_method"] = call("POST", config["configuration_endpoint"], {"delivery": {"method": "carrier-pigeon"}})
out["plain_http_push"] = call("POST", config["configuration_endpoint"], {"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "http://receiver.example/events"}})
out["admin_reads_receivers_stream"] = call("GET", config["configuration_endpoint"] + "?stream_id=" + poll_stream["stream_id"], auth=admin)[0]
out["no_credentials"] = call("GET", config["configuration_endpoint"], auth="Basic eDp5")[0]
out["delete"] = call("DELETE", config["configuration_endpoint"] + "?stream_id=" + push_stream["stream_id"])[0]
out["read_deleted"] = call("GET", config["configuration_endpoint"] + "?stream_id=" + push_stream["stream_id"])[0]
out["unauthorized_pushes"] = len(unauthorized)
print(json.dumps(out))
