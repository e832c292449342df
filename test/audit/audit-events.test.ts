import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as oidc from 'openid-client';
import t from 'tap';
import { runLatchkey } from '../cli/cli-sandbox.ts';
import { adminSetupDocument, ADMIN_SECRETS, startAdmin } from '../admin/admin-setup.ts';
import { Browser } from '../helpers/browserless.ts';
import { codeFlow, discover } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';
import { authorizationCode, refreshRequest, revoke, tokenRequest, type ClientCredentials } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';

// Issue 12 part 6: every kind of audit event, each produced by a real flow
// over real HTTP, found in the table (through the admin endpoint) and in the
// log in the same shape; and no secret, token, code or password in either.

const LEGACY_SECRET = 'legacy-app-secret-for-audit-tests';
const NEW_PASSWORD = 'a-new-password-for-audit-tests';
const document = adminSetupDocument();
document.realms[0]!.clients!.push({
  client_id: 'legacy-app', client_secret: LEGACY_SECRET, token_endpoint_auth_method: 'client_secret_basic',
  grant_types: ['password', 'refresh_token'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
  scope: 'openid profile',
});
document.realms[0]!.users!.push({ username: 'bob', password: 'bob-password-for-audit-tests' }, { username: 'carol', password: 'carol-password-for-audit-tests' });
const FAST_KEYS = { LATCHKEY_KEY_CHECK_SECONDS: '1', LATCHKEY_JWKS_MAX_AGE_SECONDS: '1', LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS: '2' };
// At debug: successes are logged there (failures at warn, admin changes at info), and every line is scanned for secrets.
const admin = await startAdmin(t, { document, env: FAST_KEYS, logLevel: 'debug' });
const { issuer, logs } = admin;
const WEB1: ClientCredentials = ['web1', SECRETS.web1];

/** Every secret, password, token and code this file uses: none may be in an event or the log. */
const used = new Set<string>([...Object.values(SECRETS), ...Object.values(ADMIN_SECRETS), LEGACY_SECRET, NEW_PASSWORD, 'bob-password-for-audit-tests', 'carol-password-for-audit-tests', 'wrong-password-for-audit']);
const keep = (...values: unknown[]) => { for (const value of values) if (typeof value === 'string' && value) used.add(value); };
keep(...Object.values(admin.tokens));

interface Event { id: string; type: string; outcome: string; realm: string; actor: string | null; client_id: string | null; user: string | null; address: string | null; request_id: string | null; details: Record<string, any> }

async function events(realm = 'default', query = ''): Promise<Event[]> {
  const answer = await admin.call('GET', `/v1/realms/${realm}/audit-events?limit=200${query}`, { token: admin.tokens.readOnly });
  if (answer.status !== 200) throw new Error(`audit-events: ${answer.status} ${answer.text}`);
  return answer.json.items as Event[];
}

/**
 * The events of a type, once `count` of them that `match` are written (they
 * are written in batches, after the request); an empty list if they never are.
 */
async function written(type: string, count = 1, match: (event: Event) => boolean = () => true): Promise<Event[]> {
  const found = await waitFor(async () => {
    const matching = (await events('default', `&type=${type}`)).filter((event) => event.type === type && match(event));
    return matching.length >= count ? matching : undefined;
  }, { timeoutMs: 20_000, intervalMs: 100 });
  return found ?? [];
}

function logged(type: string): Record<string, any>[] {
  return logs.flatMap((line) => {
    const entry = JSON.parse(line) as { audit?: Record<string, any> };
    return entry.audit?.['type'] === type ? [entry.audit] : [];
  });
}

t.test('a code flow: sign-in on the page, consent, tokens issued; refresh; revocation', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid profile offline_access' });
  keep(tokens.access_token, tokens.refresh_token, tokens.id_token);
  const userId = (tokens.claims()!).sub;

  const [signIn] = await written('sign_in.succeeded');
  t.match(signIn, { outcome: 'success', realm: 'default', client_id: 'web1', user: userId, actor: userId, address: '127.0.0.1', details: { via: 'page', username: 'alice' } });
  t.ok(signIn!.request_id, 'with its request id');
  const [consent] = await written('consent.given');
  t.match(consent, { outcome: 'success', client_id: 'web1', user: userId, details: { scope: /openid/ } });
  const [issued] = await written('token.issued', 1, (event) => event.details['grant_type'] === 'authorization_code');
  t.match(issued, { outcome: 'success', client_id: 'web1', actor: 'web1', user: userId, address: '127.0.0.1', details: { scope: /openid/ } });
  t.same([...issued!.details['issued']].sort(), ['access_token', 'id_token', 'refresh_token'], 'which kinds, never their values');

  const refresh = await refreshRequest(issuer, tokens.refresh_token!, WEB1);
  t.equal(refresh.status, 200);
  keep(refresh.json!['access_token'], refresh.json!['refresh_token'], refresh.json!['id_token']);
  const [refreshed] = await written('token.refreshed');
  t.match(refreshed, { outcome: 'success', client_id: 'web1', user: userId, details: { grant_type: 'refresh_token' } });

  t.equal((await revoke(issuer, String(refresh.json!['access_token']), WEB1)).status, 200);
  const [revoked] = await written('token.revoked');
  t.match(revoked, { outcome: 'success', client_id: 'web1', actor: 'web1', user: userId, details: { kind: 'access_token' } });
  t.ok(logged('token.revoked').length >= 1, 'logged in the same shape');
});

t.test('a replayed refresh token and a replayed code: reuse detected, the grant withdrawn', async (t) => {
  const { tokens } = await codeFlow(issuer, { scope: 'openid offline_access' });
  keep(tokens.access_token, tokens.refresh_token, tokens.id_token);
  const first = await refreshRequest(issuer, tokens.refresh_token!, WEB1);
  keep(first.json?.['access_token'], first.json?.['refresh_token'], first.json?.['id_token']);
  t.equal((await refreshRequest(issuer, tokens.refresh_token!, WEB1)).status, 400, 'the replay is refused');
  const [reuse] = await written('refresh_token.reuse_detected');
  t.match(reuse, { outcome: 'failure', client_id: 'web1', details: { error: 'invalid_grant', grant_revoked: true } });
  t.ok((await written('consent.withdrawn')).length >= 1, 'the grant it revoked');

  const { code, verifier, redirectUri } = await authorizationCode(issuer);
  keep(code, verifier);
  const redeem = () => tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: WEB1 });
  const redeemed = await redeem();
  t.equal(redeemed.status, 200);
  keep(redeemed.json?.['access_token'], redeemed.json?.['id_token']);
  t.equal((await redeem()).status, 400, 'the second redemption is refused');
  const [codeReuse] = await written('authorization_code.reuse_detected');
  t.match(codeReuse, { outcome: 'failure', client_id: 'web1', actor: 'web1' });
});

t.test('a wrong password on the page and at the password grant: sign_in.failed; a right one at the grant: sign_in.succeeded', async (t) => {
  const config = await discover(issuer, 'web1', SECRETS.web1);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://app.test/cb', scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const browser = new Browser(issuer);
  const { url: page } = await browser.follow(url.href);
  const refused = await browser.request(`${new URL(page).pathname}/login`, { method: 'POST', form: { login: 'alice', password: 'wrong-password-for-audit' } });
  t.equal(refused.status, 401);
  const [failed] = await written('sign_in.failed');
  t.match(failed, { outcome: 'failure', client_id: 'web1', user: 'alice', address: '127.0.0.1', details: { via: 'page' } });

  const LEGACY: ClientCredentials = ['legacy-app', LEGACY_SECRET];
  const wrong = await tokenRequest(issuer, { grant_type: 'password', username: 'bob', password: 'wrong-password-for-audit', scope: 'openid' }, { basic: LEGACY });
  t.equal(wrong.status, 400);
  const right = await tokenRequest(issuer, { grant_type: 'password', username: 'bob', password: 'bob-password-for-audit-tests', scope: 'openid' }, { basic: LEGACY });
  t.equal(right.status, 200);
  keep(right.json?.['access_token'], right.json?.['refresh_token'], right.json?.['id_token']);
  const [grantFailure] = await written('sign_in.failed', 1, (event) => event.details['via'] === 'password_grant');
  t.match(grantFailure, { outcome: 'failure', client_id: 'legacy-app', user: 'bob' });
  const [grantSignIn] = await written('sign_in.succeeded', 1, (event) => event.details['via'] === 'password_grant');
  t.match(grantSignIn, { outcome: 'success', client_id: 'legacy-app', details: { username: 'bob' } });
  t.equal((await written('token.issued', 1, (event) => event.details['grant_type'] === 'password' && event.client_id === 'legacy-app')).length, 1, 'and the tokens it issued');
});

t.test('a login with a NUL and a lone surrogate: stored with U+FFFD, and the events after it are written too', async (t) => {
  // PostgreSQL's text and jsonb refuse both; unhandled, the one event failed its batch at every retry and held up the trail.
  const LEGACY: ClientCredentials = ['legacy-app', LEGACY_SECRET];
  const hostile = await tokenRequest(issuer, { grant_type: 'password', username: 'mallory\u0000\ud800x', password: 'wrong-password-for-audit', scope: 'openid' }, { basic: LEGACY });
  t.equal(hostile.status, 400);
  const after = await tokenRequest(issuer, { grant_type: 'password', username: 'dave-after-the-nul', password: 'wrong-password-for-audit', scope: 'openid' }, { basic: LEGACY });
  t.equal(after.status, 400);
  t.equal((await written('sign_in.failed', 1, (event) => event.user === 'dave-after-the-nul')).length, 1, 'the event after it is written');
  const [stored] = await written('sign_in.failed', 1, (event) => event.user?.startsWith('mallory') === true);
  t.equal(stored?.user, 'mallory\ufffd\ufffdx', 'stored, what PostgreSQL refuses replaced');
});

t.test('wrong passwords until the sign-in brake: sign_in.failed each time, then brake.engaged (and nothing else)', async (t) => {
  const LEGACY: ClientCredentials = ['legacy-app', LEGACY_SECRET];
  const statuses: number[] = [];
  for (let i = 0; i < 11; i += 1) {
    statuses.push((await tokenRequest(issuer, { grant_type: 'password', username: 'carol', password: `wrong-password-${i}-for-audit`, scope: 'openid' }, { basic: LEGACY })).status);
    keep(`wrong-password-${i}-for-audit`);
  }
  t.same(statuses, [...Array(10).fill(400), 429], 'ten refusals, then braked');
  t.equal((await written('sign_in.failed', 10, (event) => event.user === 'carol')).length, 10, 'each refusal');
  const [brake] = await written('brake.engaged', 1, (event) => event.user === 'carol');
  t.match(brake, { outcome: 'failure', client_id: 'legacy-app', details: { brake: 'sign_in', via: 'password_grant', retry_after: Number } });
  t.equal((await events('default', '&type=brake.engaged&client_id=legacy-app')).length, 1, 'one event for the brake, not a client-authentication one too');
});

t.test('client credentials issued; wrong secrets: client_authentication.failed, then the brake', async (t) => {
  const ok = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  t.equal(ok.status, 200);
  keep(ok.json?.['access_token']);
  t.equal((await written('token.issued', 1, (event) => event.details['grant_type'] === 'client_credentials' && event.client_id === 'svc')).length, 1);

  const statuses: number[] = [];
  for (let i = 0; i < 11; i += 1) {
    statuses.push((await tokenRequest(issuer, { grant_type: 'client_credentials' }, { basic: ['svc', `wrong-secret-${i}-for-audit`] })).status);
    keep(`wrong-secret-${i}-for-audit`);
  }
  t.same(statuses, [...Array(10).fill(401), 429], 'ten refusals, then braked');
  const failures = await written('client_authentication.failed', 10, (event) => event.client_id === 'svc');
  t.match(failures[0], { outcome: 'failure', client_id: 'svc', details: { endpoint: 'token', error: 'invalid_client' } });
  const [brake] = await written('brake.engaged', 1, (event) => event.client_id === 'svc');
  t.match(brake, { outcome: 'failure', client_id: 'svc', details: { brake: 'client_authentication' } });

  const unknown = await tokenRequest(issuer, { grant_type: 'client_credentials' }, { basic: ['no-such-client', 'wrong-secret-for-audit'] });
  t.equal(unknown.status, 401);
  t.ok((await waitFor(async () => (await events('default', '&client_id=no-such-client')).length > 0)), 'an unknown client is recorded as it was named');
});

t.test('admin changes: actor, target, before and after; a refused write is a failure', async (t) => {
  const full = admin.tokens.full;
  const created = await admin.call('POST', '/v1/realms/acme/clients', { token: full, body: { client_id: 'audited', grant_types: ['client_credentials'], scope: 'api:read' } });
  t.equal(created.status, 201);
  keep(created.json.client_secret);
  const [create] = await written('admin.createClient', 1, (event) => event.outcome === 'success');
  t.match(create, { realm: 'default', outcome: 'success', actor: 'admin-full', address: '127.0.0.1', details: { realm: 'acme', target: 'audited', status: 201, after: { client_id: 'audited', secret_storage: 'hmac-sha256' } } });
  t.notOk('client_secret' in create!.details['after'], 'the generated secret is not in the event');

  t.equal((await admin.call('PUT', '/v1/realms/acme/clients/audited', { token: full, body: { grant_types: ['client_credentials'], scope: 'api:read api:write' } })).status, 200);
  const [update] = await written('admin.updateClient');
  t.match(update, { details: { target: 'audited', before: { scope: 'api:read' }, after: { scope: 'api:read api:write' } } });

  t.equal((await admin.call('PATCH', '/v1/realms/default/users/bob', { token: full, body: { roles: ['auditor'] } })).status, 200);
  const [patch] = await written('admin.updateUser');
  t.match(patch, { actor: 'admin-full', details: { target: 'bob', before: { roles: [], password_storage: 'argon2id' }, after: { roles: ['auditor'] } } });
  t.notOk('password_hash' in patch!.details['after'], 'no hash');

  t.equal((await admin.call('PUT', '/v1/realms/default/users/bob/password', { token: full, body: { password: NEW_PASSWORD } })).status, 204);
  const [password] = await written('admin.setUserPassword');
  t.same(Object.keys(password!.details).sort(), ['realm', 'status', 'target'], 'that the password changed, nothing of it');

  t.equal((await admin.call('DELETE', '/v1/realms/acme/clients/audited', { token: full })).status, 204);
  const [removed] = await written('admin.deleteClient');
  t.match(removed, { details: { target: 'audited', before: { client_id: 'audited' } } });

  const refused = await admin.call('POST', '/v1/realms/acme/clients', { token: full, body: { client_id: 'bad', redirect_uris: ['not a url'] } });
  t.equal(refused.status, 422);
  const [failure] = await written('admin.createClient', 1, (event) => event.outcome === 'failure');
  t.match(failure, { actor: 'admin-full', details: { realm: 'acme', status: 422, code: String } });
  t.notOk('after' in failure!.details, 'no before or after for a refusal');

  t.equal((await admin.call('DELETE', '/v1/realms/acme/clients/audited', { token: admin.tokens.readOnly })).status, 403);
  const forbidden = await waitFor(async () => (await events('default', '&type=admin.deleteClient&outcome=failure'))[0]);
  t.match(forbidden, { details: { status: 403, target: 'audited' } });
  t.equal((await admin.call('GET', '/v1/realms/acme/clients', { token: full })).status, 200);
  t.notOk((await events('default', '&type=admin')).some((event) => event.type === 'admin.listClients'), 'reads are not audit events');
});

t.test('a key rotation: keys.rotated, under the admin realm', async (t) => {
  const dir = path.dirname(admin.keysDir);
  await writeFile(path.join(admin.keysDir, '..', `setup-${path.basename(admin.keysDir)}.yaml`), JSON.stringify({ realms: [{ name: 'default' }] }));
  const rotated = await runLatchkey(['keys', 'rotate', '--alg', 'ES256'], {
    env: {
      PATH: process.env.PATH, NODE_ENV: 'test', LATCHKEY_KEYS_DIR: admin.keysDir, LATCHKEY_DATA_DIR: path.join(admin.keysDir, 'cli-data'),
      LATCHKEY_CONFIG: path.join(dir, `setup-${path.basename(admin.keysDir)}.yaml`), ...FAST_KEYS,
      // The server's database, where the CLI records who staged the rotation (an embedded one is the server's alone).
      ...(admin.config.databaseUrl ? { DATABASE_URL: admin.config.databaseUrl } : {}),
    },
  });
  t.equal(rotated.status, 0, rotated.stderr);
  const [event] = await written('keys.rotated', 1, (e) => e.actor === 'key watcher');
  t.match(event, { realm: 'default', outcome: 'success', details: { published: Array } });
  if (admin.config.databaseUrl) {
    const [staged] = await written('keys.rotated', 1, (e) => e.actor === 'cli');
    t.match(staged, { realm: 'default', outcome: 'success', details: { staged: [String], activates_at: String } });
  }
});

t.test('no secret, token, code or password in any stored event or in the log', async (t) => {
  const stored = JSON.stringify([...await events('default'), ...await events('acme')]);
  t.ok(stored.length > 1000, 'events were stored');
  const everything = [...used].filter((value) => value.length >= 8);
  t.same(everything.filter((value) => stored.includes(value)).map((value) => `${value.slice(0, 6)}…`), [], 'none in the table');
  const log = logs.join('');
  t.same(everything.filter((value) => log.includes(value)).map((value) => `${value.slice(0, 6)}…`), [], 'none in the log');
  const auditLines = logs.filter((line) => line.includes('"audit":'));
  t.ok(auditLines.length > 20, 'audit lines were logged');
  for (const line of auditLines) {
    const { audit } = JSON.parse(line) as { audit: Record<string, unknown> };
    t.same(Object.keys(audit).sort(), ['actor', 'address', 'client_id', 'details', 'id', 'occurred_at', 'outcome', 'realm', 'request_id', 'type', 'user'], `${String(audit['type'])}: one shape`);
  }
});
