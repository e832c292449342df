import t from 'tap';
import { clientProblems } from '../../src/config/index.ts';
import { FIELD_RULES } from '../../src/config/client-field-rules.ts';
import { CLIENT_METADATA_FIELDS } from '../../src/admin/client-routes.ts';
import { SECRETS } from '../helpers/setups.ts';
import { assertNoLeak, introspect, tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';
import { startAdmin } from './admin-setup.ts';

// Clients through the admin API: the client service the CLI and the setup
// file use, so the same rules and the same words; secrets generated, shown
// once, stored as digests; pages by cursor; one realm at a time.
const admin = await startAdmin(t, { logLevel: 'trace' });
const token = admin.tokens.full;
const call = (method: string, path: string, body?: unknown) => admin.call(method, path, { token, body });
const secretsSeen: string[] = [];

t.test('create a confidential client: 201, Location, the generated secret once, usable at once', async (t) => {
  const created = await call('POST', '/v1/realms/default/clients', {
    client_id: 'billing', client_name: 'Billing', grant_types: ['client_credentials'], scope: 'api:read',
  });
  t.equal(created.status, 201);
  t.equal(created.headers.get('location'), '/v1/realms/default/clients/billing');
  t.equal(created.headers.get('cache-control'), 'no-store');
  t.equal(created.json.token_endpoint_auth_method, 'client_secret_basic', 'the CLI\'s default method');
  t.equal(created.json.secret_storage, 'hmac-sha256');
  const secret = created.json.client_secret as string;
  t.match(secret, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  secretsSeen.push(secret);

  const issued = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['billing', secret] });
  t.equal(issued.status, 200, 'the secret works at the token endpoint');

  const read = await call('GET', '/v1/realms/default/clients/billing');
  t.equal(read.status, 200);
  t.notOk('client_secret' in read.json, 'never shown again');
  assertNoLeak(t, read.text, [secret, '$hmac', '$argon2']);
});

t.test('a public native client gets no secret', async (t) => {
  const created = await call('POST', '/v1/realms/default/clients', {
    client_id: 'desktop', application_type: 'native', redirect_uris: ['http://127.0.0.1/cb'], scope: 'openid',
  });
  t.equal(created.status, 201);
  t.equal(created.json.token_endpoint_auth_method, 'none');
  t.equal(created.json.secret_storage, null);
  t.notOk('client_secret' in created.json);
});

t.test('an id taken: 409 client_exists, nothing changed', async (t) => {
  const again = await call('POST', '/v1/realms/default/clients', { client_id: 'billing', grant_types: ['client_credentials'] });
  t.equal(again.status, 409);
  t.equal(again.json.code, 'client_exists');
  t.equal((await call('GET', '/v1/realms/default/clients/billing')).json.client_name, 'Billing');
});

t.test('the rulebook refuses with the words of the CLI and the setup file: 422, each field named', async (t) => {
  const definitions: Record<string, unknown>[] = [
    { client_id: 'p1', token_endpoint_auth_method: 'none', grant_types: ['client_credentials'] },
    { client_id: 'p2', redirect_uris: ['https://ok.test/cb', 'https://ok.test/cb'] },
    { client_id: 'p3', grant_types: ['client_credentials'], scope: 'admin:write' },
    { client_id: 'p4', grant_types: ['authorization_code'], redirect_uris: ['javascript:alert(1)'] },
    { client_id: 'p5', grant_types: ['client_credentials'], colour: '#fff' },
    { client_id: 'p6', token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }, grant_types: ['client_credentials'] },
  ];
  for (const definition of definitions) {
    const refused = await call('POST', '/v1/realms/default/clients', definition);
    t.equal(refused.status, 422, `${String(definition['client_id'])}: 422`);
    t.equal(refused.json.code, 'client_definition_invalid');
    const expected = clientProblems({ ...definition, ...(definition['token_endpoint_auth_method'] ? {} : { token_endpoint_auth_method: 'client_secret_basic' }) }, { production: false, realm: 'default', secretGenerated: !definition['token_endpoint_auth_method'] });
    t.same(refused.json.errors, expected.map(({ field, message }) => ({ field, message })), `${String(definition['client_id'])}: the rulebook's own problems`);
    t.equal((await call('GET', `/v1/realms/default/clients/${String(definition['client_id'])}`)).status, 404, 'nothing stored');
  }
});

t.test('a secret in the definition is refused: Latchkey generates it', async (t) => {
  const refused = await call('POST', '/v1/realms/default/clients', { client_id: 'chosen', client_secret: 'my-own-secret', grant_types: ['client_credentials'] });
  t.equal(refused.status, 422);
  t.match(refused.json.errors, [{ field: 'client_secret', message: /not accepted here/ }]);
  assertNoLeak(t, refused.text, ['my-own-secret']);
});

t.test('a body of the wrong shape: 400 naming the field; not JSON: 400; not application/json: 415; too large: 413', async (t) => {
  const wrongType = await call('POST', '/v1/realms/default/clients', { client_id: 'x', redirect_uris: 'https://one.test/cb' });
  t.equal(wrongType.status, 400);
  t.match(wrongType.json.errors, [{ field: 'redirect_uris' }]);
  const noId = await call('POST', '/v1/realms/default/clients', { client_name: 'x' });
  t.equal(noId.status, 400);
  t.match(noId.json.errors, [{ field: 'client_id', message: 'is required' }]);
  const broken = await admin.call('POST', '/v1/realms/default/clients', { token, body: '{"client_id": ', headers: { 'content-type': 'application/json' } });
  t.equal(broken.status, 400);
  t.match(broken.headers.get('content-type'), /^application\/problem\+json/);
  t.notMatch(broken.text, /Unexpected|JSON at position|FST_/, "no parser's message");
  const form = await admin.call('POST', '/v1/realms/default/clients', { token, body: 'client_id=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(form.status, 415);
  const huge = await call('POST', '/v1/realms/default/clients', { client_id: 'huge', client_name: 'x'.repeat(300 * 1024) });
  t.equal(huge.status, 413);
});

t.test('admin clients: the permission only in the default realm, with client credentials and an admin scope', async (t) => {
  const elsewhere = await call('POST', '/v1/realms/acme/clients', { client_id: 'acme-admin', grant_types: ['client_credentials'], permissions: ['admin'], scope: 'admin:read' });
  t.equal(elsewhere.status, 422);
  t.match(elsewhere.json.errors, [{ field: 'permissions', message: /only in the default realm/ }]);
  const noScope = await call('POST', '/v1/realms/default/clients', { client_id: 'half-admin', grant_types: ['client_credentials'], permissions: ['admin'], scope: 'api:read' });
  t.match(noScope.json.errors, [{ field: 'scope', message: /admin:read or admin:write/ }]);
  const created = await call('POST', '/v1/realms/default/clients', { client_id: 'robot', grant_types: ['client_credentials'], permissions: ['admin'], scope: 'admin:read' });
  t.equal(created.status, 201);
  secretsSeen.push(created.json.client_secret);
  const robot = await admin.token('robot', created.json.client_secret, 'admin:read');
  t.equal((await admin.call('GET', '/v1/realms', { token: robot })).status, 200, 'a new admin client works at once');
});

t.test('update: metadata replaced, secret and method kept; a method needing a secret the client lacks is refused', async (t) => {
  const before = await call('GET', '/v1/realms/default/clients/billing');
  const updated = await call('PUT', '/v1/realms/default/clients/billing', { client_name: 'Billing 2', grant_types: ['client_credentials'], scope: 'api:read api:write' });
  t.equal(updated.status, 200);
  t.equal(updated.json.client_name, 'Billing 2');
  t.equal(updated.json.scope, 'api:read api:write');
  t.equal(updated.json.token_endpoint_auth_method, 'client_secret_basic');
  t.equal(updated.json.secret_storage, 'hmac-sha256');
  t.equal(updated.json.created_at, before.json.created_at);
  const issued = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['billing', secretsSeen[0]!] });
  t.equal(issued.status, 200, 'the secret still works');
  // The token endpoint sees client changes within its cache's bound (5 s, src/oidc/client-adapter.ts).
  const widened = await waitFor(async () => (await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:write' }, { basic: ['billing', secretsSeen[0]!] })).status === 200, { timeoutMs: 15_000, intervalMs: 250 });
  t.ok(widened, 'and, within the client cache\'s bound, for the new scope');

  const toSecret = await call('PUT', '/v1/realms/default/clients/desktop', { application_type: 'native', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'] });
  t.equal(toSecret.status, 422);
  t.match(toSecret.json.errors, [{ field: 'token_endpoint_auth_method', message: /needs a client secret/ }]);
  const refused = await call('PUT', '/v1/realms/default/clients/billing', { grant_types: ['client_credentials'], scope: 'a"b' });
  t.equal(refused.status, 422);
  t.equal((await call('GET', '/v1/realms/default/clients/billing')).json.scope, 'api:read api:write', 'a refused update changes nothing');
  t.equal((await call('PUT', '/v1/realms/default/clients/ghost', { grant_types: ['client_credentials'] })).status, 404);
  const renamed = await call('PUT', '/v1/realms/default/clients/billing', { client_id: 'billing-2', grant_types: ['client_credentials'] });
  t.equal(renamed.status, 400, 'a client keeps its id');
  t.match(renamed.json.errors, [{ field: 'client_id' }]);
  t.equal((await call('PUT', '/v1/realms/default/clients/billing', { client_id: 'billing', grant_types: ['client_credentials'], scope: 'api:read api:write' })).status, 200, 'its own id may be given');
});

t.test('delete: 204, its tokens revoked, then 404', async (t) => {
  const issued = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['billing', secretsSeen[0]!] });
  const accessToken = String(issued.json!['access_token']);
  t.equal((await introspect(admin.issuer, accessToken, ['rs', SECRETS.rs])).json?.['active'], true);
  const removed = await call('DELETE', '/v1/realms/default/clients/billing');
  t.equal(removed.status, 204);
  t.equal(removed.text, '');
  t.equal((await introspect(admin.issuer, accessToken, ['rs', SECRETS.rs])).json?.['active'], false, 'its token is revoked');
  t.equal((await call('GET', '/v1/realms/default/clients/billing')).status, 404);
  const again = await call('DELETE', '/v1/realms/default/clients/billing');
  t.equal(again.status, 404);
  t.equal(again.json.code, 'client_not_found');
});

t.test('pages by cursor: every client once, in client_id order, whatever the page size', async (t) => {
  for (let i = 0; i < 7; i += 1) {
    const created = await call('POST', '/v1/realms/default/clients', { client_id: `page-${i}`, grant_types: ['client_credentials'] });
    secretsSeen.push(created.json.client_secret);
  }
  const all = (await call('GET', '/v1/realms/default/clients?limit=200')).json.items.map((c: { client_id: string }) => c.client_id);
  t.same(all, [...all].sort((a: string, b: string) => (a < b ? -1 : 1)), 'client_id order');
  for (const limit of [1, 3, 5]) {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await call('GET', `/v1/realms/default/clients?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      t.equal(page.status, 200);
      t.ok(page.json.items.length <= limit);
      seen.push(...page.json.items.map((c: { client_id: string }) => c.client_id));
      cursor = page.json.next_cursor;
      pages += 1;
    } while (cursor && pages < 100);
    t.same(seen, all, `limit ${limit}: all of them, once each`);
  }
  // A client added behind the cursor between pages does not shift the next page.
  const first = await call('GET', '/v1/realms/default/clients?limit=2');
  await call('POST', '/v1/realms/default/clients', { client_id: '0-early', grant_types: ['client_credentials'] });
  const second = await call('GET', `/v1/realms/default/clients?limit=2&cursor=${encodeURIComponent(first.json.next_cursor)}`);
  t.equal(second.json.items[0].client_id, all[2], 'the next page starts where the last ended');

  for (const query of ['limit=0', 'limit=201', 'limit=two', 'cursor=nonsense', 'cursor=k1.%25%25']) {
    const bad = await call('GET', `/v1/realms/default/clients?${query}`);
    t.equal(bad.status, 400, `${query}: 400`);
    t.equal(bad.json.code, 'request_invalid');
  }
});

t.test('one realm at a time: a realm\'s clients are not another\'s; an unknown realm is 404', async (t) => {
  const created = await call('POST', '/v1/realms/acme/clients', { client_id: 'acme-svc', grant_types: ['client_credentials'] });
  t.equal(created.status, 201);
  t.equal(created.headers.get('location'), '/v1/realms/acme/clients/acme-svc');
  secretsSeen.push(created.json.client_secret);
  t.same((await call('GET', '/v1/realms/acme/clients')).json.items.map((c: { client_id: string }) => c.client_id), ['acme-svc']);
  t.equal((await call('GET', '/v1/realms/default/clients/acme-svc')).status, 404);
  const issued = await tokenRequest(`${admin.issuer}/realms/acme`, { grant_type: 'client_credentials' }, { basic: ['acme-svc', created.json.client_secret] });
  t.equal(issued.status, 200, 'at its realm\'s token endpoint');
  const unknown = await call('GET', '/v1/realms/nowhere/clients');
  t.equal(unknown.status, 404);
  t.equal(unknown.json.code, 'realm_not_found');
  t.equal((await call('POST', '/v1/realms/nowhere/clients', { client_id: 'x', grant_types: ['client_credentials'] })).status, 404, 'nothing is written to a realm that is not served');
  t.equal((await call('GET', '/v1/realms/ACME/clients')).status, 400, 'a realm name the setup file would refuse');
  const realms = await call('GET', '/v1/realms');
  t.same(realms.json.items.map((r: { name: string }) => r.name), ['default', 'acme']);
  t.equal(realms.json.items[1].issuers[0].issuer, `${admin.issuer}/realms/acme`);
});

t.test('a client id that needs encoding in the path', async (t) => {
  const id = 'urn:example:a/b?c#d%e';
  const created = await call('POST', '/v1/realms/default/clients', { client_id: id, grant_types: ['client_credentials'] });
  t.equal(created.status, 201);
  secretsSeen.push(created.json.client_secret);
  t.equal(created.headers.get('location'), `/v1/realms/default/clients/${encodeURIComponent(id)}`);
  t.equal((await call('GET', created.headers.get('location')!)).json.client_id, id);
});

t.test('the response schema lists every field the rulebook accepts (the serializer drops what it does not list)', async (t) => {
  const accepted = Object.keys(FIELD_RULES).filter((field) => field !== 'client_id' && field !== 'client_secret');
  t.same(accepted.filter((field) => !CLIENT_METADATA_FIELDS.includes(field)), []);
});

t.test('no secret, token or hash in the log, even at trace with request lines', async (t) => {
  const log = admin.logs.join('');
  t.match(log, /"path":"\/v1\/realms\/:realm\/clients"/, 'requests are logged by route pattern');
  assertNoLeak(t, log, [...secretsSeen, admin.tokens.full, admin.tokens.readOnly, '$hmac-sha256$', '$argon2id$'], 'the log');
  // Request lines name the route pattern, not the client; audit events (src/audit/) name the client they changed, by design.
  const requestLines = admin.logs.filter((line) => !line.includes('"audit":')).join('');
  assertNoLeak(t, requestLines, ['urn:example'], 'the request lines');
});
