import * as jose from 'jose';
import * as oidc from 'openid-client';
import t from 'tap';
import { parseDeclarativeSetup } from '../../src/config/index.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { discover } from '../helpers/relying-party.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import { assertNoLeak, assertNoStore, assertOAuthError, introspect, refreshRequest, tokenRequest, type ClientCredentials } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';

// Issue 10: the resource owner password credentials grant (RFC 6749 §4.3),
// opt-in per client, checked like the sign-in page (argon2id, brakes).
const ORDERS = 'https://orders.example.com';
const LEGACY_SECRET = 'legacy-app-secret-for-tests';
const document = demoSetupDocument();
const realm = document.realms[0]!;
realm['resource_servers'] = [{ identifier: ORDERS, scopes: ['orders:read', 'orders:write'] }];
const passwordClient = (id: string, extra: Record<string, unknown> = {}) => ({
  client_id: id, client_secret: LEGACY_SECRET, token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['password', 'refresh_token'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
  scope: 'openid profile email offline_access api:read', ...extra,
});
realm.clients!.push(
  passwordClient('legacy-app'),
  passwordClient('orders-script', { scope: 'openid orders:read', default_resource: ORDERS }),
  passwordClient('no-refresh', { grant_types: ['password'] }),
);
realm.users!.push(
  { username: 'bob', password: 'bob-password-for-tests', email: 'bob@example.test' },
  { username: 'carol', password: 'carol-password-for-tests', disabled: true },
  { username: 'braked', password: 'braked-password-for-tests' },
  { username: 'dave', password: 'dave-password-for-tests' },
);
// A realm that lets public clients use it (Keycloak's direct access grants
// on a public client), and one without any password client at all.
document.realms.push(
  {
    name: 'scripts',
    allow_password_grant_for_public_clients: true,
    clients: [{
      client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password'],
      response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'openid',
    }],
    users: [{ username: 'erin', password: 'erin-password-for-tests' }],
  },
  { name: 'plain', clients: [], users: [{ username: 'frank', password: 'frank-password-for-tests' }] },
);
const { issuer, latchkey } = await startLatchkey(t, { setup: parseSetup(document), logLevel: 'silent' });
const legacy = ['legacy-app', LEGACY_SECRET] as const;
const rs = ['rs', SECRETS.rs] as const;
const alice = { username: 'alice', password: SECRETS.alice };

function passwordGrant(form: Record<string, string>, asClient: ClientCredentials | undefined = legacy, at = issuer) {
  return tokenRequest(at, { grant_type: 'password', ...form }, asClient ? { basic: asClient } : {});
}

t.test('openid-client: tokens for alice, an ID token it validates, userinfo and a working refresh token', async (t) => {
  const config = await discover(issuer, ...legacy);
  const tokens = await oidc.genericGrantRequest(config, 'password', { ...alice, scope: 'openid profile email api:read' });
  t.equal(tokens.token_type.toLowerCase(), 'bearer');
  t.equal(tokens.scope, 'openid profile email api:read');
  t.ok(tokens.refresh_token, 'a refresh token: the client has the refresh_token grant');
  const claims = tokens.claims()!;
  const aliceId = (await latchkey.services.accounts.findByUsername('default', 'alice'))!.id;
  t.equal(claims.sub, aliceId);
  t.equal(claims.aud, 'legacy-app');
  t.notOk(claims.nonce, 'no nonce: none was sent');
  t.notOk(claims.email, 'profile claims come from userinfo while the access token reaches it (as the code flow)');
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  t.equal(userinfo.email, 'alice@example.test');
  t.equal(userinfo.name, 'Alice Example');

  const introspection = await introspect(issuer, tokens.access_token, rs);
  t.match(introspection.json, { active: true, sub: aliceId, client_id: 'legacy-app', scope: 'openid profile email api:read', token_type: 'Bearer' });

  const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
  t.ok(refreshed.access_token);
  t.not(refreshed.refresh_token, tokens.refresh_token, 'rotated');
  t.equal(refreshed.claims()!.sub, aliceId);
  // Reuse of the rotated refresh token revokes the grant, as for the code flow.
  const reuse = await refreshRequest(issuer, tokens.refresh_token!, legacy);
  assertOAuthError(t, reuse, 400, 'invalid_grant');
  t.equal((await introspect(issuer, refreshed.access_token, rs)).json?.active, false, 'the grant is gone');
});

t.test('raw requests: a token answer is JSON, no-store, and never echoes the password', async (t) => {
  const response = await passwordGrant({ ...alice, scope: 'api:read' });
  t.equal(response.status, 200);
  assertNoStore(t, response);
  t.equal(response.json?.scope, 'api:read');
  t.notOk(response.json?.id_token, 'no ID token without openid');
  assertNoLeak(t, response.text, [SECRETS.alice]);
});

t.test('unknown user, wrong password and disabled user get one answer', async (t) => {
  const answers = await Promise.all([
    passwordGrant({ username: 'nobody', password: 'whatever-password' }),
    passwordGrant({ username: 'bob', password: 'not-bobs-password' }),
    passwordGrant({ username: 'carol', password: 'carol-password-for-tests' }),
  ]);
  for (const answer of answers) assertOAuthError(t, answer, 400, 'invalid_grant', ['not-bobs-password', 'carol-password-for-tests']);
  t.equal(new Set(answers.map((a) => a.text)).size, 1, 'the same body for all three');
  t.same(answers.map((a) => [...a.headers.keys()].filter((h) => h !== 'date').sort()), Array(3).fill([...answers[0]!.headers.keys()].filter((h) => h !== 'date').sort()), 'the same headers');
});

t.test('only clients that list the grant, and public ones only where the realm allows it', async (t) => {
  assertOAuthError(t, await passwordGrant(alice, ['web1', SECRETS.web1]), 400, 'unauthorized_client');
  assertOAuthError(t, await passwordGrant(alice, ['svc', SECRETS.svc]), 400, 'unauthorized_client');
  assertOAuthError(t, await tokenRequest(issuer, { grant_type: 'password', client_id: 'spa1', ...alice }), 400, 'unauthorized_client');

  // A public client given the grant at run time, in a realm that does not allow it.
  await latchkey.services.clients.put('default', {
    client_id: 'public-pw', token_endpoint_auth_method: 'none', grant_types: ['password'], response_types: [],
    redirect_uris: [], post_logout_redirect_uris: [], scope: 'openid',
  });
  const publicAttempt = await tokenRequest(issuer, { grant_type: 'password', client_id: 'public-pw', ...alice });
  assertOAuthError(t, publicAttempt, 400, 'unauthorized_client');
  t.match(publicAttempt.json?.error_description, /public clients/);

  // The setup file refuses the same client where the realm does not allow it.
  const refused = demoSetupDocument();
  refused.realms[0]!.clients!.push({
    client_id: 'cli', token_endpoint_auth_method: 'none', grant_types: ['password'], response_types: [],
    redirect_uris: [], post_logout_redirect_uris: [],
  });
  t.throws(() => parseDeclarativeSetup(refused, { env: {}, nodeEnv: 'test' }), /allow_password_grant_for_public_clients/);

  const scripts = `${issuer}/realms/scripts`;
  const ok = await tokenRequest(scripts, { grant_type: 'password', client_id: 'cli', username: 'erin', password: 'erin-password-for-tests', scope: 'openid' });
  t.equal(ok.status, 200, 'a public client where the realm allows it');
  t.ok(ok.json?.id_token);
  t.notOk(ok.json?.refresh_token, 'no refresh token without the refresh_token grant');
  // Each realm its own users: alice does not exist in scripts.
  assertOAuthError(t, await tokenRequest(scripts, { grant_type: 'password', client_id: 'cli', ...alice }), 400, 'invalid_grant');
});

t.test('malformed requests are refused before any password is checked', async (t) => {
  assertOAuthError(t, await passwordGrant({ password: 'x' }), 400, 'invalid_request');
  assertOAuthError(t, await passwordGrant({ username: 'alice' }), 400, 'invalid_request');
  assertOAuthError(t, await passwordGrant({ username: '', password: 'x' }), 400, 'invalid_request');
  assertOAuthError(t, await passwordGrant({ username: 'alice', password: 'x'.repeat(1025) }), 400, 'invalid_request');
  assertOAuthError(t, await tokenRequest(issuer, 'grant_type=password&username=alice&username=bob&password=x', { basic: legacy }), 400, 'invalid_request');
  assertOAuthError(t, await passwordGrant({ ...alice, scope: 'openid orders:write' }), 400, 'invalid_scope', [SECRETS.alice]);
  assertOAuthError(t, await passwordGrant({ ...alice, scope: 'openid no-such-scope' }), 400, 'invalid_scope');
  assertOAuthError(t, await passwordGrant({ ...alice, resource: 'https://unknown.example.com' }), 400, 'invalid_target');
  assertOAuthError(t, await passwordGrant({ ...alice, resource: 'not a uri' }), 400, 'invalid_target');
});

t.test('without scope: the client\'s own scopes', async (t) => {
  const response = await passwordGrant({ username: 'bob', password: 'bob-password-for-tests' }, ['no-refresh', LEGACY_SECRET]);
  t.equal(response.status, 200);
  t.equal(response.json?.scope, 'openid profile email offline_access api:read');
  t.ok(response.json?.id_token);
  t.notOk(response.json?.refresh_token, 'no refresh token for a client without the refresh_token grant, even with offline_access');
});

t.test('a default resource: an RFC 9068 JWT for the API, introspectable and revoked with the user\'s password change', async (t) => {
  const script = ['orders-script', LEGACY_SECRET] as const;
  const response = await passwordGrant({ username: 'dave', password: 'dave-password-for-tests', scope: 'openid orders:read' }, script);
  t.equal(response.status, 200);
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const { payload } = await jose.jwtVerify(response.json!.access_token as string, jwks, { issuer, audience: ORDERS, typ: 'at+jwt' });
  const daveId = (await latchkey.services.accounts.findByUsername('default', 'dave'))!.id;
  t.match(payload, { sub: daveId, client_id: 'orders-script', scope: 'orders:read' });
  t.type(payload['auth_time'], 'number', 'auth_time of the password sign-in');
  t.equal(response.json?.scope, 'orders:read', 'the access token carries the API\'s scopes');
  const { payload: idToken } = await jose.jwtVerify(response.json!.id_token as string, jwks, { issuer, audience: 'orders-script' });
  t.equal(idToken.sub, daveId);
  t.match(await introspect(issuer, response.json!.access_token as string, rs), { json: { active: true, aud: ORDERS, sub: daveId } });

  // A refresh gives another token for the same API without naming it.
  const refreshed = await refreshRequest(issuer, response.json!.refresh_token as string, script);
  t.equal(refreshed.status, 200);
  t.equal(jose.decodeJwt(refreshed.json!.access_token as string).aud, ORDERS);

  await latchkey.services.accounts.setPassword('default', 'dave', 'dave-new-password-for-tests');
  t.equal((await introspect(issuer, refreshed.json!.access_token as string, rs)).json?.active, false, 'revoked with the password change');
  assertOAuthError(t, await refreshRequest(issuer, refreshed.json!.refresh_token as string, script), 400, 'invalid_grant');
  assertOAuthError(t, await passwordGrant({ username: 'dave', password: 'dave-password-for-tests', scope: 'openid orders:read' }, script), 400, 'invalid_grant');
  t.equal((await passwordGrant({ username: 'dave', password: 'dave-new-password-for-tests', scope: 'openid orders:read' }, script)).status, 200);
});

t.test('the sign-in brakes: concurrent guesses stop at the limit, for real and unknown users alike', async (t) => {
  for (const username of ['braked', 'no-such-user-at-all']) {
    const guesses = await Promise.all(Array.from({ length: 25 }, (_, i) => passwordGrant({ username, password: `guess-${i}-wrong` })));
    const statuses = guesses.map((g) => g.status);
    t.equal(statuses.filter((s) => s === 400).length, 10, `${username}: ten guesses checked`);
    t.equal(statuses.filter((s) => s === 429).length, 15, `${username}: the rest braked`);
    const braked = guesses.find((g) => g.status === 429)!;
    t.equal(braked.json?.error, 'invalid_grant');
    t.ok(Number(braked.headers.get('retry-after')) > 0, 'Retry-After');
    t.equal(statuses.filter((s) => s >= 500).length, 0, 'no 5xx');
  }
  // The right password is braked too from this address: nothing tells the guesser it was right.
  t.equal((await passwordGrant({ username: 'braked', password: 'braked-password-for-tests' })).status, 429);
});

t.test('concurrent sign-ins of one user: each gets its own grant and tokens', async (t) => {
  const answers = await Promise.all(Array.from({ length: 12 }, () => passwordGrant({ ...alice, scope: 'openid offline_access' })));
  t.same(answers.map((a) => a.status), Array(12).fill(200));
  t.equal(new Set(answers.map((a) => a.json?.refresh_token)).size, 12, 'distinct refresh tokens');
  const refreshed = await Promise.all(answers.map((a) => refreshRequest(issuer, a.json!.refresh_token as string, legacy)));
  t.same(refreshed.map((a) => a.status), Array(12).fill(200), 'each refreshes on its own grant');
});

t.test('discovery lists password only in realms with such a client, as they get one', async (t) => {
  const grantTypes = async (at: string) => ((await (await fetch(`${at}/.well-known/openid-configuration`)).json()) as { grant_types_supported: string[] }).grant_types_supported;
  t.ok((await grantTypes(issuer)).includes('password'), 'default: legacy-app has it');
  t.ok((await grantTypes(`${issuer}/realms/scripts`)).includes('password'));
  const plain = `${issuer}/realms/plain`;
  t.notOk((await grantTypes(plain)).includes('password'), 'plain: no client has it');
  t.ok((await grantTypes(plain)).includes('authorization_code'), 'the other grants stay listed');
  assertOAuthError(t, await tokenRequest(plain, { grant_type: 'password', username: 'frank', password: 'frank-password-for-tests' }, { basic: ['nobody', 'nothing-at-all'] }), 401, 'invalid_client');

  await latchkey.services.clients.put('plain', passwordClient('late-app'));
  const listed = await waitFor(async () => (await grantTypes(plain)).includes('password'), { intervalMs: 500 });
  t.ok(listed, 'listed once a client has it');
  const late = await passwordGrant({ username: 'frank', password: 'frank-password-for-tests', scope: 'openid' }, ['late-app', LEGACY_SECRET], plain);
  t.equal(late.status, 200, 'and usable at once: its new scopes reach the engine (src/oidc/engine-configuration.ts)', { body: late.text });
});
