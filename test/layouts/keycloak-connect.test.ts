import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Keycloak from 'keycloak-connect';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { postForm } from '../helpers/token-requests.ts';
import { layoutsSetup, SECRETS, SERVICE_SECRET } from './layout-setups.ts';

// Issue 11: an API protected by keycloak-connect (Keycloak's Node adapter),
// bearer-only, configured as for IFS Cloud's IAM: auth-server-url with /auth,
// the realm's name. It fetches the realm's keys from Latchkey's certs
// endpoint and checks `typ`, `iss`, expiry, the RS256 signature and roles.
const { issuer: base } = await startLatchkey(t, { setup: layoutsSetup(), logLevel: 'silent' });
const tokenEndpoint = `${base}/auth/realms/ifs/protocol/openid-connect/token`;

type Middleware = (req: http.IncomingMessage, res: http.ServerResponse, next: () => void) => void;

/** A plain Node API: keycloak-connect's setup and grant attacher, then `protect(role)`. */
async function protectedApi(role: string): Promise<string> {
  const keycloak = new Keycloak({}, { realm: 'ifs', 'auth-server-url': `${base}/auth`, resource: 'orders-api', 'bearer-only': true } as never);
  (keycloak as unknown as { accessDenied: Middleware }).accessDenied = (_req, res) => { res.statusCode = 403; res.end('denied'); };
  const [setup, , , attachGrant] = keycloak.middleware() as unknown as Middleware[];
  const chain = [setup!, attachGrant!, keycloak.protect(role) as unknown as Middleware];
  const server = http.createServer((req, res) => {
    let i = 0;
    const next = () => {
      const step = chain[i++];
      if (step) step(req, res, next);
      else res.end(`hello ${(req as unknown as { kauth: { grant: { access_token: { content: { preferred_username: string } } } } }).kauth.grant.access_token.content.preferred_username}`);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/orders`;
}

const call = async (url: string, token?: string) => {
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: await response.text() };
};

const aliceToken = async () => {
  const response = await postForm(tokenEndpoint, {
    grant_type: 'password', client_id: 'ifs-script', client_secret: SERVICE_SECRET, username: 'alice', password: SECRETS.alice, scope: 'openid',
  });
  return response.json!['access_token'] as string;
};

t.test('a realm role (realm_access.roles) and a client role (resource_access) let alice in', async (t) => {
  const token = await aliceToken();
  t.same(await call(await protectedApi('realm:ifs-admin'), token), { status: 200, body: 'hello alice' });
  // `reader` of the API itself: its resource_access entry (the role `orders-api:reader`).
  t.same(await call(await protectedApi('reader'), token), { status: 200, body: 'hello alice' });
});

t.test('refused: a role alice lacks, no token, a tampered token, a service token without the role', async (t) => {
  const token = await aliceToken();
  t.equal((await call(await protectedApi('realm:auditor'), token)).status, 403);
  const api = await protectedApi('realm:ifs-admin');
  t.equal((await call(api)).status, 403);
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
  const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, preferred_username: 'mallory' })).toString('base64url')}.${signature}`;
  t.equal((await call(api, forged)).status, 403);
  const service = await postForm(tokenEndpoint, { grant_type: 'client_credentials' }, { basic: ['ifs-service', SERVICE_SECRET] });
  t.equal((await call(api, service.json!['access_token'] as string)).status, 403);
  t.equal((await call(await protectedApi('realm:integration'), service.json!['access_token'] as string)).status, 200, 'its own role');
});

t.test('an ID token and a refresh token are not access tokens to keycloak-connect', async (t) => {
  const response = await postForm(tokenEndpoint, {
    grant_type: 'password', client_id: 'ifs-script', client_secret: SERVICE_SECRET, username: 'alice', password: SECRETS.alice, scope: 'openid',
  });
  const api = await protectedApi('realm:ifs-admin');
  t.equal((await call(api, response.json!['id_token'] as string)).status, 403, 'typ ID');
  t.equal((await call(api, response.json!['refresh_token'] as string)).status, 403, 'typ Refresh, and no published key verifies it');
});

t.test('keycloak-connect\'s online check (introspection, credentials sent both as Basic and in the form)', async (t) => {
  const keycloak = new Keycloak({}, {
    realm: 'ifs', 'auth-server-url': `${base}/auth`, resource: 'rs', 'bearer-only': true, credentials: { secret: SECRETS.rs },
  } as never);
  const grantManager = (keycloak as unknown as { grantManager: { validateAccessToken(token: string): Promise<string | false> } }).grantManager;
  const token = await aliceToken();
  t.equal(await grantManager.validateAccessToken(token), token, 'active');
  const revoked = await postForm(`${base}/auth/realms/ifs/protocol/openid-connect/revoke`, { token, client_id: 'ifs-script', client_secret: SERVICE_SECRET });
  t.equal(revoked.status, 200);
  t.equal(await grantManager.validateAccessToken(token), false, 'revoked');
  // The same two mechanisms with different secrets are still refused.
  const mismatched = await postForm(`${base}/auth/realms/ifs/protocol/openid-connect/token/introspect`, { token, client_id: 'rs', client_secret: 'not-the-secret' }, { basic: ['rs', SECRETS.rs] });
  t.equal(mismatched.status, 400);
  t.equal(mismatched.json!['error'], 'invalid_request');
});
