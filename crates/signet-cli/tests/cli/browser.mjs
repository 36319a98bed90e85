// Headless Chromium (Debian's, driven by playwright-core) through `signet demo`: the login page
// by keyboard alone, the access token in memory, the refresh cookie out of script's reach, a
// reload that stays signed in, single sign-on without a password (the same client, then a
// second, third-party one through its consent page), and a logout after which the API refuses
// the old access token. Screenshots go to SHOTS. Prints one JSON object.
// Usage: node browser.mjs APP_URL USERNAME PASSWORD SHOTS_DIR
import { createHash, randomBytes } from 'node:crypto';
import { chromium } from 'playwright-core';

const [appUrl, username, password, shots] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const out = {};
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  let seenToken = null;
  page.on('request', (r) => {
    const auth = r.headers()['authorization'];
    if (auth?.startsWith('Bearer ')) seenToken = auth.slice(7);
  });
  await page.goto(appUrl);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForSelector('form input[name="username"]');
  out.login_title = await page.title();
  await page.screenshot({ path: `${shots}/login.png`, fullPage: true });
  // Keyboard alone: the name field has the focus; Tab to the password; Enter submits.
  out.focus_on_username = await page.evaluate(() => document.activeElement?.name === 'username');
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForSelector('text=You are signed in.');
  await page.screenshot({ path: `${shots}/demo.png`, fullPage: true });
  out.script_sees_refresh_cookie = await page.evaluate(() => document.cookie.includes('refresh'));
  out.script_sees_sso_cookie = await page.evaluate(() => document.cookie.includes('sso'));
  const cookies = await context.cookies();
  out.refresh_cookie_http_only = cookies.find((c) => c.name.includes('refresh'))?.httpOnly === true;
  out.stored = await page.evaluate(() => JSON.stringify(localStorage) + JSON.stringify(sessionStorage));
  await page.getByRole('button', { name: 'Call the API' }).click();
  await page.waitForSelector('#result:has-text("200")');
  out.api = await page.textContent('#result');
  const token = seenToken;

  // A reload loses the in-memory token; the refresh cookie brings a new one.
  await page.reload();
  await page.waitForSelector('text=You are signed in.');
  out.signed_in_after_reload = true;

  // Single sign-on: another authorization request in this browser needs no password.
  const config = await (await page.request.get(new URL('/demo/config.json', appUrl).href)).json();
  const again = await context.newPage();
  const url = new URL(config.issuer + '/oauth2/authorize');
  url.search = new URLSearchParams({
    response_type: 'code', client_id: config.client_id, redirect_uri: config.redirect_uri,
    scope: 'openid', state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256', prompt: 'none',
  });
  const landed = [];
  again.on('framenavigated', (f) => landed.push(f.url()));
  await again.goto(url.href);
  out.sso_without_password = landed.some((u) => u.includes('code=')) && !landed.some((u) => u.includes('error='));
  await again.close();

  // A second client, not first-party: its first request in this browser asks for consent and
  // never for a password; the code it gets is exchanged for an ID token of the same user.
  const partner = await context.newPage();
  const verifier = randomBytes(32).toString('base64url');
  const partnerCb = config.issuer + '/demo/partner';
  const partnerUrl = new URL(config.issuer + '/oauth2/authorize');
  partnerUrl.search = new URLSearchParams({
    response_type: 'code', client_id: 'demo-partner', redirect_uri: partnerCb,
    scope: 'openid profile email', state: 'p', nonce: 'n-partner',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  });
  await partner.goto(partnerUrl.href);
  const allow = partner.getByRole('button', { name: 'Allow' });
  await allow.waitFor();
  out.consent_title = await partner.title();
  out.consent_names_client = (await partner.textContent('main')).includes('Partner app');
  out.partner_asked_for_password = (await partner.locator('input[name="password"]').count()) > 0;
  await partner.screenshot({ path: `${shots}/consent.png`, fullPage: true });
  await allow.click();
  await partner.waitForURL((u) => u.href.startsWith(partnerCb + '?'));
  await partner.screenshot({ path: `${shots}/partner.png`, fullPage: true });
  const code = new URL(partner.url()).searchParams.get('code');
  const exchanged = await partner.request.post(config.issuer + '/oauth2/token', {
    form: { grant_type: 'authorization_code', code, redirect_uri: partnerCb, client_id: 'demo-partner', code_verifier: verifier },
  });
  const idToken = (await exchanged.json()).id_token;
  const idClaims = JSON.parse(Buffer.from(idToken.split('.')[1], 'base64url'));
  out.partner_aud = idClaims.aud;
  out.partner_nonce = idClaims.nonce;
  out.partner_sub = idClaims.sub;
  // Consent is remembered: the next request with prompt=none lands with a code at once.
  partnerUrl.searchParams.set('prompt', 'none');
  await partner.goto(partnerUrl.href);
  out.partner_again_with_code = new URL(partner.url()).searchParams.has('code');
  await partner.close();

  // Logout: confirm at the issuer, back at the app signed out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  const confirm = page.getByRole('button', { name: 'Sign out' });
  await confirm.waitFor();
  await page.screenshot({ path: `${shots}/logout.png`, fullPage: true });
  await confirm.click();
  await page.waitForSelector('text=You are not signed in.');
  const started = Date.now();
  let status = 200;
  while (Date.now() - started < 5000) {
    status = (await page.request.get(config.api + '/hello', { headers: { authorization: 'Bearer ' + token } })).status();
    if (status === 401) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  out.old_token_status = status;
  out.refused_after_ms = Date.now() - started;
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
