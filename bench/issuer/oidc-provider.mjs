// panva's oidc-provider 9 as the benchmark peer: client credentials, resource indicators,
// ES256 JWT access tokens, rotating refresh tokens, the default in-memory adapter; for the
// single sign-on round trip a public client `rp` (authorization code with PKCE, ES256 ID
// tokens) and the development interactions as its login and consent pages.
// Usage: node oidc-provider.mjs PORT TOKENS_FILE   (writes refresh tokens to TOKENS_FILE)
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';
import { generateKeyPair, exportJWK } from 'jose';

const port = Number(process.argv[2]);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = await generateKeyPair('ES256', { extractable: true });
const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'backend',
    client_secret: 'bench-secret-bench-secret-bench-secret-1234',
    grant_types: ['client_credentials', 'refresh_token', 'authorization_code'],
    redirect_uris: ['https://rp.example/cb'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }, {
    client_id: 'rp',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    redirect_uris: ['https://rp.example/cb'],
    response_types: ['code'],
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'offline_access', 'read'],
  rotateRefreshToken: true,
  features: {
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => 'urn:bench:api',
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'read',
        audience: 'urn:bench:api',
        accessTokenTTL: 600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
});

// Refresh tokens are minted directly: oidc-provider hands them out only after an interactive
// authorization-code login, which is not what is measured.
const client = await provider.Client.find('backend');
const tokens = [];
for (let i = 0; i < 64; i += 1) {
  const accountId = `user-${i}`;
  const grant = new provider.Grant({ accountId, clientId: 'backend' });
  grant.addOIDCScope('offline_access');
  grant.addResourceScope('urn:bench:api', 'read');
  const grantId = await grant.save();
  const rt = new provider.RefreshToken({
    accountId, client, grantId, gty: 'authorization_code', scope: 'offline_access', resource: 'urn:bench:api',
  });
  tokens.push(await rt.save());
}
writeFileSync(process.argv[3], tokens.join('\n') + '\n');
provider.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
