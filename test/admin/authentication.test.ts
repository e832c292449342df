import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { loadDeclarativeFile } from '../../src/config/index.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { revoke, tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';
import { parseSetup } from '../helpers/setups.ts';
import { ADMIN_SECRETS, adminSetupDocument, startAdmin } from './admin-setup.ts';

// Who gets in: bearer tokens of admin clients, looked up as introspection
// looks them up, narrowed to what the client holds now; the bootstrap from
// the setup file; and the brakes on tokens that are not.
const document = adminSetupDocument();
document.realms[0]!['resource_servers'] = [{ identifier: 'https://api.test', scopes: ['admin:read', 'api:read'] }];
document.realms[0]!.clients!.push({
  client_id: 'admin-short', client_secret: 'admin-short-secret-for-tests', grant_types: ['client_credentials'],
  permissions: ['admin'], scope: 'admin:read', ttl: { client_credentials: 1 },
});
const admin = await startAdmin(t, { document });
const REALMS = '/v1/realms';

t.test('a token nobody issued: 401 invalid_token', async (t) => {
  for (const value of ['not-a-token', 'a'.repeat(43), `${admin.tokens.full}x`, 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.']) {
    const answer = await admin.call('GET', REALMS, { token: value });
    t.equal(answer.status, 401);
    t.equal(answer.headers.get('www-authenticate'), 'Bearer realm="latchkey-admin", error="invalid_token"');
    t.equal(answer.json.code, 'bearer_token_invalid');
  }
});

t.test('only the Authorization header carries a token; other schemes are no token', async (t) => {
  const inQuery = await admin.call('GET', `${REALMS}?access_token=${admin.tokens.full}`);
  t.equal(inQuery.status, 401, 'not in the query string (RFC 6750 §2.3 is not offered: URLs end up in logs)');
  const basic = await admin.call('GET', REALMS, { headers: { authorization: `Basic ${Buffer.from(`admin-full:${ADMIN_SECRETS.full}`).toString('base64')}` } });
  t.equal(basic.status, 401, 'client credentials are for the token endpoint');
  t.equal(basic.headers.get('www-authenticate'), 'Bearer realm="latchkey-admin"');
  t.equal((await admin.call('GET', REALMS, { headers: { authorization: `bearer   ${admin.tokens.full}` } })).status, 200, 'the scheme in any case (RFC 9110 §11.1)');
});

t.test('a revoked token: 401 at once', async (t) => {
  const value = await admin.token('admin-full', ADMIN_SECRETS.full, 'admin:read');
  t.equal((await admin.call('GET', REALMS, { token: value })).status, 200);
  t.equal((await revoke(admin.issuer, value, ['admin-full', ADMIN_SECRETS.full])).status, 200);
  t.equal((await admin.call('GET', REALMS, { token: value })).status, 401);
});

t.test('an expired token: 401', async (t) => {
  const value = await admin.token('admin-short', 'admin-short-secret-for-tests', 'admin:read');
  const expired = await waitFor(async () => (await admin.call('GET', REALMS, { token: value })).status === 401, { timeoutMs: 10_000, intervalMs: 250 });
  t.ok(expired, 'refused once its one second is over');
});

t.test('a token issued for a resource server is that server\'s: 401', async (t) => {
  const issued = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'admin:read', resource: 'https://api.test' }, { basic: ['admin-full', ADMIN_SECRETS.full] });
  t.equal(issued.status, 200, `issued (${issued.text})`);
  t.equal((await admin.call('GET', REALMS, { token: String(issued.json!['access_token']) })).status, 401);
});

t.test('a token of another realm: 401', async (t) => {
  const created = await admin.call('POST', '/v1/realms/acme/clients', { token: admin.tokens.full, body: { client_id: 'acme-svc', grant_types: ['client_credentials'], scope: 'api:read' } });
  const issued = await tokenRequest(`${admin.issuer}/realms/acme`, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['acme-svc', created.json.client_secret] });
  t.equal((await admin.call('GET', REALMS, { token: String(issued.json!['access_token']) })).status, 401);
});

t.test('what a token may do follows its client: scope narrowed, permission taken, client removed', async (t) => {
  const created = await admin.call('POST', '/v1/realms/default/clients', { token: admin.tokens.full, body: { client_id: 'ops', grant_types: ['client_credentials'], permissions: ['admin'], scope: 'admin:read admin:write' } });
  const value = await admin.token('ops', created.json.client_secret, 'admin:read admin:write');
  const write = () => admin.call('POST', '/v1/realms/default/users', { token: value, body: { username: `u${Date.now()}`, password: 'pw-for-tests-1' } });
  t.equal((await write()).status, 201, 'it may write');

  await admin.call('PUT', '/v1/realms/default/clients/ops', { token: admin.tokens.full, body: { grant_types: ['client_credentials'], permissions: ['admin'], scope: 'admin:read' } });
  const narrowed = await write();
  t.equal(narrowed.status, 403, 'admin:write taken from the client: at once, not at the next token');
  t.equal(narrowed.headers.get('www-authenticate'), 'Bearer realm="latchkey-admin", error="insufficient_scope", scope="admin:write"');
  t.equal((await admin.call('GET', REALMS, { token: value })).status, 200, 'reading still');

  await admin.call('PUT', '/v1/realms/default/clients/ops', { token: admin.tokens.full, body: { grant_types: ['client_credentials'], scope: 'admin:read' } });
  t.equal((await admin.call('PUT', '/v1/realms/default/clients/ops', { token: admin.tokens.full, body: { grant_types: ['client_credentials'], scope: 'api:read' } })).status, 200);
  t.equal((await admin.call('GET', REALMS, { token: value })).status, 403, 'no admin permission: a valid token, without the scope');

  t.equal((await admin.call('DELETE', '/v1/realms/default/clients/ops', { token: admin.tokens.full })).status, 204);
  t.equal((await admin.call('GET', REALMS, { token: value })).status, 401, 'its client removed: the token is gone');
});

t.test('bootstrap: an admin client declared in the setup file, its secret from the environment', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-admin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'latchkey.yaml');
  await writeFile(file, [
    'realms:',
    '  - name: default',
    '    clients:',
    '      - client_id: admin-bootstrap',
    '        client_secret: ${LATCHKEY_ADMIN_CLIENT_SECRET}',
    '        grant_types: [client_credentials]',
    '        permissions: [admin]',
    '        scope: admin:read admin:write',
    '',
  ].join('\n'));
  const secret = 'a-long-random-secret-from-the-environment';
  const setup = await loadDeclarativeFile(file, { env: { LATCHKEY_ADMIN_CLIENT_SECRET: secret }, nodeEnv: 'production' });
  const fresh = await startLatchkey(t, { setup });
  const issued = await tokenRequest(fresh.issuer, { grant_type: 'client_credentials', scope: 'admin:write' }, { basic: ['admin-bootstrap', secret] });
  t.equal(issued.status, 200);
  const answer = await fetch(`${fresh.admin!}/v1/realms/default/clients`, { headers: { authorization: `Bearer ${String(issued.json!['access_token'])}` } });
  t.equal(answer.status, 200, 'a fresh install is administered without a shell on the host');
  await t.rejects(loadDeclarativeFile(file, { env: {}, nodeEnv: 'production' }), { message: /LATCHKEY_ADMIN_CLIENT_SECRET is not set/ }, 'no secret, no start');
  const elsewhere = adminSetupDocument();
  elsewhere.realms[1]!.clients = [{ client_id: 'acme-admin', client_secret: 'x-secret-1', grant_types: ['client_credentials'], permissions: ['admin'], scope: 'admin:read' }];
  t.throws(() => parseSetup(elsewhere), { message: /realms\[1\]\.clients\[0\]\.permissions: admin is granted only in the default realm/ }, 'the file is judged by the same rule');
});

t.test('a realm whose layout issues JWT access tokens: its admin tokens are verified as at introspection', async (t) => {
  const keycloak = adminSetupDocument();
  keycloak.realms[0]!['layout'] = 'keycloak';
  const running = await startAdmin(t, { document: keycloak });
  const jwt = running.tokens.readOnly;
  t.equal(jwt.split('.').length, 3, 'a JWT');
  t.equal((await running.call('GET', REALMS, { token: jwt })).status, 200);
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const forged = `${header}.${payload}.${signature.slice(0, -4)}AAAA`;
  t.equal((await running.call('GET', REALMS, { token: forged })).status, 401, 'a bad signature');
  t.equal((await running.call('POST', '/v1/realms/default/users', { token: jwt, body: {} })).status, 403, 'read-only');
});

t.test('invalid tokens are braked with the client-authentication brakes: 429 + Retry-After, nothing looked up', async (t) => {
  // A server of its own: its brakes have counted nothing yet.
  const braking = await startAdmin(t);
  const statuses: number[] = [];
  for (let i = 0; i < 12; i += 1) statuses.push((await braking.call('GET', REALMS, { token: `guess-${i}` })).status);
  t.same(statuses, [...Array<number>(10).fill(401), 429, 429], 'ten failures a minute for bearer tokens from one address, as for a client id (src/rate-limits/client-auth-limiters.ts)');
  const braked = await braking.call('GET', REALMS, { token: braking.tokens.full });
  t.equal(braked.status, 429, 'while braked, no token from this address is looked up, a good one included');
  t.ok(Number(braked.headers.get('retry-after')) > 0, 'Retry-After');
  t.equal(braked.json.code, 'too_many_attempts');
  t.equal((await braking.call('GET', REALMS)).status, 401, 'a request with no token is no attempt');
});
