// Interoperability peer for Signet's CLI tests: panva's `jose` for Node.js.
// `verify FILE` checks tokens Signet signed; `sign` prints keys and tokens made by jose.
import { readFileSync } from 'node:fs';
import * as jose from 'jose';

const ISS = 'https://issuer.example';
const AUD = 'api';
const ALGS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512',
  'ES256', 'ES384', 'ES512', 'ES256K', 'EdDSA'];

async function verify(path) {
  const results = [];
  for (const c of JSON.parse(readFileSync(path, 'utf8'))) {
    try {
      const key = await jose.importJWK(c.jwk, c.alg);
      const { payload } = await jose.jwtVerify(c.token, key, { issuer: ISS, audience: AUD, algorithms: [c.alg] });
      results.push({ alg: c.alg, jose: payload.sub === c.sub ? 'ok' : 'wrong sub' });
    } catch (e) {
      results.push({ alg: c.alg, jose: `${e.code ?? e.name}: ${e.message}` });
    }
  }
  process.stdout.write(JSON.stringify(results));
}

async function sign() {
  const cases = [];
  for (const alg of ALGS) {
    let privateKey, jwk;
    if (alg.startsWith('HS')) {
      privateKey = await jose.generateSecret(alg, { extractable: true });
      jwk = await jose.exportJWK(privateKey);
    } else {
      const pair = await jose.generateKeyPair(alg, { extractable: true, crv: alg === 'EdDSA' ? 'Ed25519' : undefined });
      privateKey = pair.privateKey;
      jwk = await jose.exportJWK(pair.publicKey);
    }
    jwk.alg = alg;
    jwk.kid = `node-${alg}`;
    const token = await new jose.SignJWT({ sub: `node-${alg}` })
      .setProtectedHeader({ alg, kid: jwk.kid, typ: 'at+jwt' })
      .setIssuer(ISS).setAudience(AUD).setIssuedAt().setExpirationTime('5m')
      .sign(privateKey);
    cases.push({ alg, jwk, tokens: { jose: token } });
  }
  process.stdout.write(JSON.stringify(cases));
}

if (process.argv[2] === 'verify') await verify(process.argv[3]); else await sign();
