// A real OpenID Provider (npm oidc-provider) for the OIDC sign-in tests, on loopback only.
//
// Environment:
//   PORT          port to listen on (127.0.0.1); the issuer is http://127.0.0.1:PORT
//   REDIRECT_URIS comma-separated redirect URIs of the client "nimbus" (one per test tenant host)
//   ACCOUNTS      JSON {login: {claims...}}; any other login gets <login>@example.test, verified
//   KID           key id of the signing key (default "nimbus-test"); every start makes a fresh RSA key,
//                 so two instances with the same KID sign with different keys (bad-signature tests)
// Prints "READY <issuer>" once it listens. The login form (devInteractions) accepts any password.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 0);
const issuer = `http://127.0.0.1:${port}`;
const accounts = JSON.parse(process.env.ACCOUNTS || '{}');
const redirectUris = (process.env.REDIRECT_URIS || '').split(',').filter(Boolean);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: process.env.KID || 'nimbus-test', use: 'sig', alg: 'RS256' };

function claimsOf(login) {
  const given = accounts[login];
  return given ? { ...given } : { email: `${login}@example.test`, email_verified: true };
}

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'nimbus',
    client_secret: 'nimbus-secret',
    redirect_uris: redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  }],
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  conformIdTokenClaims: false, // scope claims go into the ID token too, as many IdPs do
  findAccount: async (ctx, id) => ({ accountId: id, claims: async () => ({ sub: id, ...claimsOf(id) }) }),
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['test-only-cookie-key'] },
  ttl: { IdToken: 300, AccessToken: 300, AuthorizationCode: 60, Interaction: 300, Session: 600, Grant: 600 },
});

const server = provider.listen(port, '127.0.0.1', () => console.log(`READY ${issuer}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
