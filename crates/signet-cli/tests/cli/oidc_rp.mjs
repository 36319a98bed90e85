// A relying party built on panva's openid-client (OpenID Certified), driving a running
// `signet serve` through the whole code flow; the login step submits the issuer's login form
// as a browser would. Prints one JSON object of what it saw; exits non-zero on any failure.
// Usage: node oidc_rp.mjs ISSUER CLIENT_ID REDIRECT_URI POST_LOGOUT_URI USERNAME PASSWORD
import * as client from 'openid-client';

const [issuer, clientId, redirectUri, postLogoutUri, username, password] = process.argv.slice(2);
const jar = new Map();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
const keep = (res) => {
  for (const c of res.headers.getSetCookie()) {
    const [pair, ...attrs] = c.split(';');
    const [name, value] = pair.split('=');
    if (attrs.some((a) => a.trim() === 'Max-Age=0')) jar.delete(name.trim());
    else jar.set(name.trim(), value);
  }
  return res;
};
const browse = async (url, init = {}) =>
  keep(await fetch(url, { redirect: 'manual', ...init, headers: { cookie: cookieHeader(), ...(init.headers || {}) } }));
const hiddenFields = (html) =>
  [...html.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)">/g)].map((m) => [
    m[1],
    m[2].replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&'),
  ]);

const config = await client.discovery(new URL(issuer), clientId, undefined, client.None(), {
  execute: [client.allowInsecureRequests],
});

// One authorization request; returns the callback URL the browser lands on.
async function authorize(nonce, state, verifier, login) {
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    nonce,
    state,
  });
  let res = await browse(url);
  if (res.status === 200 && login) {
    const form = new URLSearchParams(hiddenFields(await res.text()));
    form.set('username', username);
    form.set('password', password);
    res = await browse(new URL('/oauth2/login', issuer), {
      method: 'POST',
      body: form,
      headers: { origin: new URL(issuer).origin, 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
  if (res.status !== 303) throw new Error(`authorization ended with ${res.status}`);
  return new URL(res.headers.get('location'));
}

const out = {};
const nonce = client.randomNonce();
const state = client.randomState();
const verifier = client.randomPKCECodeVerifier();
const callback = await authorize(nonce, state, verifier, true);
const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: verifier,
  expectedNonce: nonce,
  expectedState: state,
});
const claims = tokens.claims();
out.sub = claims.sub;
out.id_token_email = claims.email;
out.sid = claims.sid;
const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
out.userinfo_email = info.email;
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
out.refreshed = typeof refreshed.access_token === 'string' && refreshed.refresh_token !== tokens.refresh_token;
await client.tokenRevocation(config, refreshed.refresh_token);
try {
  await client.refreshTokenGrant(config, refreshed.refresh_token);
  out.revoked = false;
} catch {
  out.revoked = true;
}

// Single sign-on, with a nonce the client did not send: the client must refuse the ID token.
const sso = await authorize(client.randomNonce(), state, verifier, false);
try {
  await client.authorizationCodeGrant(config, sso, {
    pkceCodeVerifier: verifier,
    expectedNonce: 'not-the-nonce-that-was-sent',
    expectedState: state,
  });
  out.nonce_mismatch_detected = false;
} catch {
  out.nonce_mismatch_detected = true;
}

// RP-initiated logout back to the registered URI.
const end = client.buildEndSessionUrl(config, {
  id_token_hint: tokens.id_token,
  post_logout_redirect_uri: postLogoutUri,
  state: 'bye',
});
const res = await browse(end);
out.logout_status = res.status;
out.logout_location = res.headers.get('location');
out.session_cookie_left = [...jar.keys()].some((k) => k.includes('sso'));
console.log(JSON.stringify(out));
