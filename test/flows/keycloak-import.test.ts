import { fileURLToPath } from 'node:url';
import t from 'tap';
import { isCurrentHash } from '../../src/accounts/password-hasher.ts';
import { loadDeclarativeFile } from '../../src/config/index.ts';
import { parseKeptHash } from '../../src/config/kept-password-hashes.ts';
import { applySetup } from '../../src/realms/realm-setup.ts';
import { replacePasswordHash } from '../../src/store/user.repository.ts';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { assertOAuthError, postForm, type ClientCredentials, type RequestOptions } from '../helpers/token-requests.ts';

// Issue 11: a Keycloak realm export named by LATCHKEY_CONFIG (here: handed to
// the server as the config loader reads it). Its users sign in with the
// passwords they had in Keycloak — on the sign-in page and with the password
// grant — and their kept hashes become argon2id at that first sign-in,
// without anything issued to them being revoked; its clients get tokens.
const FIXTURE = fileURLToPath(new URL('../fixtures/keycloak/realm-export.json', import.meta.url));
const setup = await loadDeclarativeFile(FIXTURE, { env: {}, nodeEnv: 'test' });
const { issuer, listening, latchkey, logs } = await startLatchkey(t, { setup, logLevel: 'info' });
const acme = `${issuer}/realms/acme-corp`;
// An imported Keycloak realm keeps Keycloak's layout (src/oidc/realm-layouts.ts): its endpoints are Keycloak's.
const acmeOidc = `${acme}/protocol/openid-connect`;
const tokenRequest = (form: Record<string, string>, options: RequestOptions) => postForm(`${acmeOidc}/token`, form, options);
const refreshRequest = (token: string, client: ClientCredentials) => tokenRequest({ grant_type: 'refresh_token', refresh_token: token }, { basic: client });
const introspect = (token: string, client: ClientCredentials) => postForm(`${acmeOidc}/token/introspect`, { token }, { basic: client });
const accounts = latchkey.services.accounts;
const db = latchkey.services.database.db;

/** The passwords the fixture's users had in Keycloak (test/fixtures/keycloak/README.md). */
const PASSWORDS: Record<string, string> = {
  alice: 'alice-Pässwörd-1', bob: 'bob-password-2', carol: 'carol-password-3', dave: 'dave-password-4', erin: 'erin-password-5',
  frank: 'frank-password-6', heidi: 'heidi-password-7', ivan: 'ivan-password-8', judy: 'alice-Pässwörd-1',
  'jhipster-user': 'user', 'workshop-user1': 'password', 'workshop-admin1': 'password',
};
const legacyScript = ['legacy-script', 'legacy-script-secret-from-keycloak'] as const;
const ordersApi = ['orders-api', 'orders-api-secret-from-keycloak'] as const;
const introspector = ['acme-introspector', 'acme-introspector-secret-for-tests'] as const;
await latchkey.services.clients.put('acme-corp', {
  client_id: introspector[0], client_secret: introspector[1], grant_types: ['client_credentials'], response_types: [], permissions: ['introspection'],
});

const stored = async (username: string) => (await accounts.findByUsername('acme-corp', username))!;
const passwordGrant = (username: string, password: string, scope = 'openid') =>
  tokenRequest({ grant_type: 'password', username, password, scope }, { basic: legacyScript });

t.test('the server logs the import summary once, as a warning: parts of the export need attention', async (t) => {
  const lines = logs.filter((line) => line.includes('Keycloak realm export translated'));
  t.equal(lines.length, 1);
  const entry = JSON.parse(lines[0]!) as { level: number; keycloak: string[] };
  t.equal(entry.level, 40, 'warn');
  t.match(entry.keycloak.join('\n'), /needs your attention:[\s\S]*partner-portal/);
});

t.test('users of every kept hash sign in with their Keycloak password; the hash becomes argon2id', async (t) => {
  for (const username of ['bob', 'carol', 'dave', 'erin', 'heidi', 'judy', 'jhipster-user', 'workshop-user1', 'workshop-admin1']) {
    const before = await stored(username);
    t.ok(parseKeptHash(before.password_hash), `${username}: a kept ${before.password_hash.split('$')[1]} hash`);
    assertOAuthError(t, await passwordGrant(username, `${PASSWORDS[username]}-wrong`), 400, 'invalid_grant');
    t.equal((await stored(username)).password_hash, before.password_hash, `${username}: a wrong password changes nothing`);

    const granted = await passwordGrant(username, PASSWORDS[username]!);
    t.equal(granted.status, 200, `${username} signs in (${granted.json?.['error_description'] ?? 'ok'})`);
    t.equal(granted.json?.['expires_in'], 180, 'the realm\'s accessTokenLifespan');
    const after = await stored(username);
    t.ok(isCurrentHash(after.password_hash), `${username}: now Latchkey's argon2id`);
    t.ok(await latchkey.services.hasher.verify(after.password_hash, PASSWORDS[username]!), 'for the same password');
    t.same([after.password_changed_at, after.updated_at], [before.password_changed_at, before.updated_at], 'not a password change, not a profile change');
    t.equal((await passwordGrant(username, PASSWORDS[username]!)).status, 200, 'and signs in again');
  }
});

t.test('the sign-in page: alice (PBKDF2-SHA256, a password with umlauts) through the code flow', async (t) => {
  t.ok(parseKeptHash((await stored('alice')).password_hash));
  const { tokens } = await codeFlow(acme, {
    clientId: 'orders-web', secret: 'orders-web-secret-from-keycloak', redirectUri: 'https://orders.acme.example/callback',
    scope: 'openid profile', browser: new Browser(listening), password: PASSWORDS['alice']!,
  });
  t.equal(tokens.claims()!.sub, (await stored('alice')).id);
  t.equal(tokens.expires_in, 120, 'orders-web\'s own access.token.lifespan');
  t.ok(isCurrentHash((await stored('alice')).password_hash));
});

t.test('a plain password, no password, a disabled user', async (t) => {
  t.equal((await passwordGrant('frank', PASSWORDS['frank']!)).status, 200, 'frank: hashed on import');
  t.ok(isCurrentHash((await stored('frank')).password_hash));
  assertOAuthError(t, await passwordGrant('grace', 'anything-at-all'), 400, 'invalid_grant');
  t.notOk(await accounts.authenticate('acme-corp', 'grace', ''), 'grace has no password, not an empty one');
  const ivan = (await stored('ivan')).password_hash;
  assertOAuthError(t, await passwordGrant('ivan', PASSWORDS['ivan']!), 400, 'invalid_grant');
  t.equal((await stored('ivan')).password_hash, ivan, 'a disabled account keeps its kept hash');
});

t.test('clients get tokens: client credentials with the imported secret, roles from the service account', async (t) => {
  const granted = await tokenRequest({ grant_type: 'client_credentials', scope: 'roles' }, { basic: ordersApi });
  t.equal(granted.status, 200, granted.text);
  t.equal(granted.json?.['expires_in'], 180);
  t.match((await introspect(granted.json!['access_token'], introspector)).json, { active: true, client_id: 'orders-api', roles: ['orders-reader'] });
  assertOAuthError(t, await tokenRequest({ grant_type: 'client_credentials' }, { basic: ['orders-api', 'not-the-secret'] }), 401, 'invalid_client');

  const user = await passwordGrant('bob', PASSWORDS['bob']!, 'openid roles');
  t.equal(user.status, 200, user.text);
  t.match((await introspect(user.json!['access_token'], introspector)).json, { active: true, roles: ['orders-reader', 'staff'] });
});

t.test('the imported realm answers in Keycloak\'s shapes: realm_access, resource_access, typ, refresh_expires_in', async (t) => {
  const granted = await passwordGrant('alice', PASSWORDS['alice']!, 'openid');
  t.equal(granted.status, 200, granted.text);
  t.equal(granted.json?.['not-before-policy'], 0);
  t.type(granted.json?.['refresh_expires_in'], 'number');
  const claims = JSON.parse(Buffer.from(String(granted.json!['access_token']).split('.')[1]!, 'base64url').toString()) as Record<string, any>;
  t.match(claims, { typ: 'Bearer', azp: 'legacy-script', preferred_username: 'alice', iss: acme });
  t.same([...claims['realm_access'].roles].sort(), ['orders-admin', 'orders-reader', 'staff']);
  t.same([...claims['resource_access']['orders-api'].roles].sort(), ['read', 'write'], 'orders-api\'s client roles, as Keycloak put them');
});

t.test('replacing a kept hash revokes nothing: tokens issued before it stay valid', async (t) => {
  const first = await passwordGrant('workshop-user1', PASSWORDS['workshop-user1']!);
  const user = await stored('workshop-user1');
  const kept = setup.realms[0]!.users.find((u) => u.username === 'workshop-user1')!.password_hash!;
  // As if this first sign-in had happened before the import's hash was replaced.
  t.ok(await replacePasswordHash(db, 'acme-corp', user.id, user.password_hash, kept));
  t.equal((await passwordGrant('workshop-user1', PASSWORDS['workshop-user1']!)).status, 200);
  t.ok(isCurrentHash((await stored('workshop-user1')).password_hash));
  t.equal((await introspect(first.json!['access_token'], introspector)).json?.['active'], true, 'the earlier access token is active');
  t.equal((await refreshRequest(first.json!['refresh_token'], legacyScript)).status, 200, 'the earlier refresh token refreshes');
});

t.test('applying the export again changes nothing, also for users whose hash was replaced since', async (t) => {
  const token = (await passwordGrant('dave', PASSWORDS['dave']!)).json!['access_token'] as string;
  const before = await accounts.list('acme-corp');
  const [report] = await applySetup(setup, latchkey.services);
  t.match(report, { clients: { created: 0, updated: 0, unchanged: 5 }, users: { created: 0, updated: 0, unchanged: 14 } });
  const after = await accounts.list('acme-corp');
  t.same(after.map((u) => [u.username, u.password_hash, u.updated_at]), before.map((u) => [u.username, u.password_hash, u.updated_at]), 'not one row written');
  t.equal((await introspect(token, introspector)).json?.['active'], true, 'nobody\'s tokens revoked');
});

t.test('two first sign-ins at once both succeed, and one argon2id hash is stored', async (t) => {
  const user = await stored('carol');
  const kept = setup.realms[0]!.users.find((u) => u.username === 'carol')!.password_hash!;
  t.ok(await replacePasswordHash(db, 'acme-corp', user.id, user.password_hash, kept));
  // Straight to the account service: the sign-in paths would share one check for identical attempts.
  const results = await Promise.all(Array.from({ length: 4 }, () => accounts.authenticate('acme-corp', 'carol', PASSWORDS['carol']!)));
  t.ok(results.every((signedIn) => signedIn?.username === 'carol'), 'all four signed in');
  const now = (await stored('carol')).password_hash;
  t.ok(isCurrentHash(now) && await latchkey.services.hasher.verify(now, PASSWORDS['carol']!));

  // The swap itself: of two at once from the same hash, exactly one replaces it.
  t.ok(await replacePasswordHash(db, 'acme-corp', user.id, now, kept));
  const swaps = await Promise.all([
    replacePasswordHash(db, 'acme-corp', user.id, kept, `${now}`),
    replacePasswordHash(db, 'acme-corp', user.id, kept, await latchkey.services.hasher.hash(PASSWORDS['carol']!)),
  ]);
  t.same(swaps.filter(Boolean).length, 1, 'one of the two');
});
