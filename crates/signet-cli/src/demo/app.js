// The Signet demo single-page app: the pattern to copy for a browser app.
//
// - Login: OpenID Connect authorization code flow with PKCE (S256). Only the PKCE verifier,
//   state and nonce wait in sessionStorage across the redirect; they are not tokens.
// - The access token lives in this module's memory only: never in localStorage, never in a
//   cookie script can read. A reload loses it, and the refresh below gets a new one.
// - The refresh token never reaches script: /session/code puts it into an HttpOnly cookie, and
//   /session/refresh rotates it. Both refresh and logout need the CSRF header (the readable
//   CSRF cookie's value, echoed), and the issuer checks the Origin.
// - Logout ends the login (its access tokens are revoked at every guard) and then the single
//   sign-on session at the issuer.

const config = await (await fetch('/demo/config.json')).json();
let accessToken = null; // in memory only
let idToken = null; // kept for the logout hint

const $ = (id) => document.getElementById(id);
const show = (text) => ($('status').textContent = text);
const b64url = (bytes) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = () => b64url(crypto.getRandomValues(new Uint8Array(32)));
const csrf = () =>
  document.cookie.split('; ').find((c) => c.startsWith(config.csrf_cookie + '='))?.split('=')[1] ?? '';

// Sends the browser to the issuer's login page.
async function login() {
  const verifier = random();
  const state = random();
  const nonce = random();
  sessionStorage.setItem('pkce', JSON.stringify({ verifier, state, nonce }));
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const url = new URL(config.issuer + '/oauth2/authorize');
  url.search = new URLSearchParams({
    response_type: 'code', client_id: config.client_id, redirect_uri: config.redirect_uri,
    scope: config.scope, state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  });
  location.assign(url);
}

// Back from the login page: checks the state and the issuer, trades the code for tokens.
async function finishLogin(params) {
  const pending = JSON.parse(sessionStorage.getItem('pkce') ?? 'null');
  sessionStorage.removeItem('pkce');
  history.replaceState(null, '', config.redirect_uri); // the code leaves the address bar
  if (!pending || params.get('state') !== pending.state || params.get('iss') !== config.issuer) {
    throw new Error('the login answer does not match the request');
  }
  const res = await fetch('/session/code', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      client_id: config.client_id, code: params.get('code'),
      code_verifier: pending.verifier, redirect_uri: config.redirect_uri,
    }),
  });
  if (!res.ok) throw new Error('the code exchange failed');
  const tokens = await res.json();
  const claims = JSON.parse(atob(tokens.id_token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
  if (claims.nonce !== pending.nonce) throw new Error('the ID token is not for this login');
  accessToken = tokens.access_token;
  idToken = tokens.id_token;
}

// After a reload: a new access token through the refresh cookie, if the login is still live.
async function refresh() {
  const res = await fetch('/session/refresh', { method: 'POST', headers: { 'x-csrf-token': csrf() } });
  if (!res.ok) return false;
  accessToken = (await res.json()).access_token;
  return true;
}

async function callApi() {
  const res = await fetch(config.api + '/hello', { headers: { authorization: 'Bearer ' + accessToken } });
  $('result').textContent = res.status + ' ' + (await res.text());
}

async function logout() {
  await fetch('/session/logout', { method: 'POST', headers: { 'x-csrf-token': csrf() } });
  accessToken = null;
  const url = new URL(config.issuer + '/oauth2/logout');
  url.search = new URLSearchParams({
    client_id: config.client_id, post_logout_redirect_uri: config.redirect_uri,
    ...(idToken ? { id_token_hint: idToken } : {}),
  });
  location.assign(url);
}

function render() {
  const inside = accessToken !== null;
  $('title').textContent = inside ? 'Signed in' : 'Welcome';
  show(inside ? 'You are signed in. The access token is in memory only.' : 'You are not signed in.');
  $('login').hidden = inside;
  $('call').hidden = !inside;
  $('logout').hidden = !inside;
}

$('login').addEventListener('click', login);
$('call').addEventListener('click', callApi);
$('logout').addEventListener('click', logout);
try {
  const params = new URLSearchParams(location.search);
  if (params.has('code')) await finishLogin(params);
  else if (params.has('error')) show('The login was refused: ' + params.get('error'));
  else await refresh();
} catch (e) {
  show(String(e.message));
}
render();
