import * as jose from 'jose';
import * as oidc from 'openid-client';
import t from 'tap';
import { parseDeclarativeSetup } from '../../src/config/index.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow, discover } from '../helpers/relying-party.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import { assertOAuthError, introspect, refreshRequest, tokenRequest } from '../helpers/token-requests.ts';

// Issue 10: roles and groups (RFC 9068 §7.2.1) in ID tokens, userinfo, JWT
// access tokens and introspection answers, released by the `roles` and
// `groups` scopes.
const ORDERS = 'https://orders.example.com';
const ROBOT_SECRET = 'robot-secret-for-tests';
const document = demoSetupDocument();
const realm = document.realms[0]!;
realm['resource_servers'] = [{ identifier: ORDERS, scopes: ['orders:read'] }];
const web1 = realm.clients!.find((client) => client['client_id'] === 'web1')!;
web1['scope'] = `${String(web1['scope'])} roles groups`;
realm.clients!.push(
  {
    client_id: 'orders-web', client_secret: 'orders-web-secret-for-tests', token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    redirect_uris: ['https://orders.test/cb'], post_logout_redirect_uris: [],
    scope: 'openid orders:read roles groups', default_resource: ORDERS,
  },
  {
    client_id: 'robot', client_secret: ROBOT_SECRET, token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
    scope: 'api:read orders:read roles', roles: ['ingest', 'Order Desk'],
  },
  {
    client_id: 'script', client_secret: 'script-secret-for-tests', token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['password'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'openid roles',
  },
);
const alice = realm.users!.find((user) => user['username'] === 'alice')!;
alice['roles'] = ['orders-admin', 'viewer'];
alice['groups'] = ['staff', 'Finance Team'];
const { issuer, latchkey } = await startLatchkey(t, { setup: parseSetup(document), logLevel: 'silent' });
const rs = ['rs', SECRETS.rs] as const;
const robot = ['robot', ROBOT_SECRET] as const;
const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));

t.test('discovery lists the scopes and the claims', async (t) => {
  const metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json() as { scopes_supported: string[]; claims_supported: string[] };
  for (const name of ['roles', 'groups']) {
    t.ok(metadata.scopes_supported.includes(name), `scope ${name}`);
    t.ok(metadata.claims_supported.includes(name), `claim ${name}`);
  }
});

t.test('code flow with roles and groups: ID token, userinfo and introspection carry them', async (t) => {
  const { tokens, config } = await codeFlow(issuer, { scope: 'openid profile roles groups' });
  const claims = tokens.claims()!;
  t.same(claims['roles'], ['orders-admin', 'viewer'], 'ID token: roles');
  t.same(claims['groups'], ['staff', 'Finance Team'], 'ID token: groups');
  t.notOk(claims['name'], 'profile claims stay in userinfo while the access token reaches it');
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  t.same(userinfo['roles'], ['orders-admin', 'viewer'], 'userinfo: roles');
  t.same(userinfo['groups'], ['staff', 'Finance Team'], 'userinfo: groups');
  t.equal(userinfo['name'], 'Alice Example');
  const introspection = await introspect(issuer, tokens.access_token, rs);
  t.match(introspection.json, { active: true, roles: ['orders-admin', 'viewer'], groups: ['staff', 'Finance Team'] });
});

t.test('without their scopes, nothing of them anywhere', async (t) => {
  const { tokens, config } = await codeFlow(issuer, { scope: 'openid profile' });
  const claims = tokens.claims()!;
  t.notOk('roles' in claims || 'groups' in claims, 'ID token');
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  t.notOk('roles' in userinfo || 'groups' in userinfo, 'userinfo');
  const introspection = await introspect(issuer, tokens.access_token, rs);
  t.equal(introspection.json?.active, true);
  t.notOk('roles' in introspection.json! || 'groups' in introspection.json!, 'introspection');
  // Only roles asked: no groups.
  const onlyRoles = await codeFlow(issuer, { scope: 'openid roles' });
  t.same(onlyRoles.tokens.claims()!['roles'], ['orders-admin', 'viewer']);
  t.notOk('groups' in onlyRoles.tokens.claims()!);
});

t.test('a JWT access token for an API carries them, and jose reads them', async (t) => {
  const { tokens } = await codeFlow(issuer, {
    clientId: 'orders-web', secret: 'orders-web-secret-for-tests', redirectUri: 'https://orders.test/cb', scope: 'openid orders:read roles groups',
  });
  const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  t.same(payload['roles'], ['orders-admin', 'viewer']);
  t.same(payload['groups'], ['staff', 'Finance Team']);
  t.equal(payload['scope'], 'orders:read roles groups', 'the API\'s scopes and the two');
  t.match((await introspect(issuer, tokens.access_token, rs)).json, { active: true, aud: ORDERS, roles: ['orders-admin', 'viewer'] });
  t.same(tokens.claims()!['groups'], ['staff', 'Finance Team'], 'the ID token too');

  // A change of roles reaches the next token, not the ones issued.
  await latchkey.services.accounts.setAuthorisation('default', 'alice', { roles: ['viewer'] });
  const refreshed = await refreshRequest(issuer, tokens.refresh_token!, ['orders-web', 'orders-web-secret-for-tests']);
  t.equal(refreshed.status, 200);
  t.same(jose.decodeJwt(refreshed.json!.access_token as string)['roles'], ['viewer'], 'the refreshed token: the new roles');
  t.same(jose.decodeJwt(refreshed.json!.access_token as string)['groups'], ['staff', 'Finance Team'], 'groups kept');
  t.same((await introspect(issuer, tokens.access_token, rs)).json?.roles, ['orders-admin', 'viewer'], 'the first token: as issued');
  await latchkey.services.accounts.setAuthorisation('default', 'alice', { roles: ['orders-admin', 'viewer'] });
});

t.test('client credentials: the client\'s own roles with the roles scope', async (t) => {
  const opaque = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read roles' }, { basic: robot });
  t.equal(opaque.status, 200);
  t.match((await introspect(issuer, opaque.json!.access_token as string, rs)).json, { active: true, roles: ['ingest', 'Order Desk'] });
  const jwt = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'orders:read roles', resource: ORDERS }, { basic: robot });
  const { payload } = await jose.jwtVerify(jwt.json!.access_token as string, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  t.same(payload['roles'], ['ingest', 'Order Desk']);
  t.equal(payload['sub'], 'robot');
  const without = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: robot });
  t.notOk('roles' in (await introspect(issuer, without.json!.access_token as string, rs)).json!, 'not without the scope');
  // A client that does not declare the scope cannot ask for it.
  assertOAuthError(t, await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read roles' }, { basic: ['svc', SECRETS.svc] }), 400, 'invalid_scope');
});

t.test('the password grant carries them as the code flow does', async (t) => {
  const config = await discover(issuer, 'script', 'script-secret-for-tests');
  const tokens = await oidc.genericGrantRequest(config, 'password', { username: 'alice', password: SECRETS.alice, scope: 'openid roles' });
  t.same(tokens.claims()!['roles'], ['orders-admin', 'viewer']);
  t.same((await introspect(issuer, tokens.access_token, rs)).json?.roles, ['orders-admin', 'viewer']);
});

t.test('the setup file refuses bad names, naming the field', async (t) => {
  const bad = (roles: unknown) => {
    const file = demoSetupDocument();
    file.realms[0]!.users![0]!['roles'] = roles;
    return () => parseDeclarativeSetup(file, { env: {}, nodeEnv: 'test' });
  };
  t.throws(bad(['ok', 'ok']), /users\[0\]\.roles\[1\].*twice/);
  t.throws(bad(['']), /users\[0\]\.roles\[0\].*non-empty/);
  t.throws(bad(['tab\there']), /control characters/);
  t.throws(bad([' padded']), /spaces/);
  t.throws(bad('admin'), /users\[0\]/);
  const client = demoSetupDocument();
  client.realms[0]!.clients![0]!['roles'] = ['a', 'a'];
  t.throws(() => parseDeclarativeSetup(client, { env: {}, nodeEnv: 'test' }), /clients\[0\]\.roles\[1\].*twice/);
});
