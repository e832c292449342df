import t, { type Test } from 'tap';
import { freePort, migrate } from '../helpers/latchkey-under-test.ts';
import { createTestDatabase } from '../helpers/test-database.ts';
import { rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import { serverDirs, spawnServer } from '../helpers/server-process.ts';
import { waitFor } from '../helpers/waiting.ts';
import { startAdmin } from './admin-setup.ts';

// Nothing of the admin API is on the public listener, however the path is
// spelt and whatever the headers claim; nothing of the public listener is on
// the admin one. Each trick is a raw request (sent byte for byte, nothing
// normalised by a client library) to the public listener, carrying a valid
// admin:write token, from behind a trusted proxy (LATCHKEY_TRUST_PROXY=true,
// where X-Forwarded-* headers are read at all).
const admin = await startAdmin(t, { env: { LATCHKEY_TRUST_PROXY: 'true' } });
const adminUrl = new URL(admin.adminOrigin);
const publicUrl = new URL(admin.listening);
const bearer = `Bearer ${admin.tokens.full}`;

const CREATE = JSON.stringify({ client_id: 'smuggled', grant_types: ['client_credentials'], scope: 'api:read' });

function send(origin: string, method: string, target: string, headers: Record<string, string> = {}, body?: string): Promise<RawResponse> {
  const host = new URL(origin).host;
  const lines = [
    `${method} ${target} HTTP/1.1`,
    `Host: ${headers['Host'] ?? host}`,
    `Authorization: ${bearer}`,
    'Connection: close',
    ...Object.entries(headers).filter(([name]) => name !== 'Host').map(([name, value]) => `${name}: ${value}`),
    ...(body === undefined ? [] : ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]),
  ];
  return rawRequest(origin, `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
}

/** Not an admin answer: no problem details, no admin data, no success. */
function assertNotAdmin(t: Test, answer: RawResponse, what: string): void {
  t.ok(answer.status >= 400 && answer.status < 500 && ![401, 403].includes(answer.status), `${what}: refused as the public listener refuses (HTTP ${answer.status})`);
  t.notMatch(answer.headers['content-type'] ?? '', /problem\+json/, `${what}: not an admin problem`);
  t.notMatch(answer.body, /"client_id"|"items"|"openapi"|"username"|web1|admin-full/, `${what}: no admin data`);
}

const ADMIN_PATHS = [
  '/v1/realms/default/clients',
  '/v1/realms',
  '/openapi.json',
  '/v1/realms/default/users',
  '/v1/realms/default/clients/web1',
];

const SPELLINGS: [string, string][] = [
  ['case', '/V1/REALMS/DEFAULT/CLIENTS'],
  ['mixed case', '/v1/Realms/default/Clients'],
  ['case, document', '/OpenAPI.json'],
  ['percent-encoded letters', '/%76%31/%72ealms/default/%63lients'],
  ['percent-encoded slashes', '/v1%2Frealms%2Fdefault%2Fclients'],
  ['percent-encoded slash, lower case', '/v1%2frealms%2fdefault%2fclients'],
  ['double-encoded', '/%2576%2531/realms/default/clients'],
  ['leading double slash', '//v1/realms/default/clients'],
  ['inner double slash', '/v1//realms/default/clients'],
  ['triple slash', '///openapi.json'],
  ['trailing slash', '/v1/realms/default/clients/'],
  ['trailing dot', '/v1/realms/default/clients.'],
  ['dotted segment', '/v1./realms/default/clients'],
  ['trailing dot, document', '/openapi.json.'],
  ['path parameter', '/v1/realms/default/clients;x=1'],
  ['dot segment', '/./v1/realms/default/clients'],
  ['dot-dot from a sibling', '/x/../v1/realms/default/clients'],
  ['dot-dot from assets', '/assets/../openapi.json'],
  ['dot-dot from a realm', '/realms/acme/../../v1/realms/default/clients'],
  ['encoded dot-dot', '/%2e%2e/v1/realms/default/clients'],
  ['encoded dot-dot and slash', '/assets/..%2fv1/realms/default/clients'],
  ['backslashes', '/v1\\realms\\default\\clients'],
  ['under a realm mount', '/realms/acme/v1/realms/default/clients'],
  ['under the default realm name', '/realms/default/v1/realms/default/clients'],
  ['query string', '/v1/realms/default/clients?x=/v1/realms'],
  ['fragment-looking', '/v1/realms/default/clients%23'],
  ['NUL byte', '/v1/realms/default/clients%00'],
  ['overlong UTF-8 slash', '/v1%c0%afrealms/default/clients'],
];

t.test('the admin paths on the public listener: 404 or 405, never an admin answer', async (t) => {
  for (const path of ADMIN_PATHS) {
    assertNotAdmin(t, await send(admin.listening, 'GET', path), `GET ${path}`);
    assertNotAdmin(t, await send(admin.listening, 'DELETE', path), `DELETE ${path}`);
  }
  assertNotAdmin(t, await send(admin.listening, 'POST', '/v1/realms/default/clients', {}, CREATE), 'POST create');
});

t.test('each spelling of an admin path on the public listener', async (t) => {
  for (const [name, path] of SPELLINGS) {
    assertNotAdmin(t, await send(admin.listening, 'GET', path), name);
    assertNotAdmin(t, await send(admin.listening, 'POST', path, {}, CREATE), `${name} (POST)`);
  }
});

t.test('method override headers on the public listener', async (t) => {
  for (const header of ['X-HTTP-Method-Override', 'X-HTTP-Method', 'X-Method-Override']) {
    assertNotAdmin(t, await send(admin.listening, 'POST', '/v1/realms/default/clients/web1', { [header]: 'DELETE' }, '{}'), `${header}: DELETE`);
    assertNotAdmin(t, await send(admin.listening, 'POST', '/v1/realms/default/clients', { [header]: 'GET' }, '{}'), `${header}: GET`);
    assertNotAdmin(t, await send(admin.listening, 'GET', '/openapi.json', { [header]: 'GET' }), `${header} on the document`);
  }
  assertNotAdmin(t, await send(admin.listening, 'POST', '/v1/realms/default/clients/web1?_method=DELETE', {}, '{}'), '_method=DELETE');
});

t.test('rewrite and forwarding headers on the public listener', async (t) => {
  const tricks: Record<string, string>[] = [
    { 'X-Original-URL': '/v1/realms/default/clients' },
    { 'X-Rewrite-URL': '/v1/realms/default/clients' },
    { 'X-Original-URI': '/openapi.json' },
    { 'X-Forwarded-Uri': '/v1/realms' },
    { 'X-Forwarded-Path': '/v1/realms' },
    { 'X-Forwarded-Prefix': '/v1' },
    { 'X-Forwarded-Host': adminUrl.host },
    { 'X-Forwarded-Port': adminUrl.port },
    { 'X-Forwarded-Server': adminUrl.hostname, 'X-Forwarded-Proto': 'https' },
    { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1' },
    { Forwarded: `for=127.0.0.1;host=${adminUrl.host};proto=http` },
    { Host: adminUrl.host },
  ];
  for (const headers of tricks) {
    const what = Object.keys(headers).join(', ');
    for (const [method, path] of [['GET', '/'], ['GET', '/v1/realms/default/clients'], ['GET', '/openapi.json'], ['GET', '/healthz']] as const) {
      const answer = await send(admin.listening, method, path, headers);
      if (path === '/healthz' || path === '/') {
        // The public listener's own routes answer as they always do, never with admin data.
        t.notMatch(answer.body, /"client_id"|"items"|"openapi"/, `${what} on ${path}: no admin data`);
        t.notMatch(answer.headers['content-type'] ?? '', /problem\+json/, `${what} on ${path}: not an admin problem`);
      } else {
        assertNotAdmin(t, answer, `${what} on ${path}`);
      }
    }
  }
});

t.test('an absolute-form target naming the admin listener, sent to the public one', async (t) => {
  for (const path of ['/v1/realms/default/clients', '/openapi.json']) {
    assertNotAdmin(t, await send(admin.listening, 'GET', `${admin.adminOrigin}${path}`), `absolute ${path}`);
    assertNotAdmin(t, await send(admin.listening, 'GET', `http://localhost:${adminUrl.port}${path}`, { Host: `localhost:${adminUrl.port}` }), `absolute localhost ${path}`);
  }
});

t.test('the same requests on the admin listener are the admin API (the tricks above were not refused for lack of a token)', async (t) => {
  const answer = await send(admin.adminOrigin, 'GET', '/v1/realms/default/clients/web1');
  t.equal(answer.status, 200);
  t.match(answer.body, /"client_id":"web1"/);
});

t.test('nothing was created or removed through the public listener', async (t) => {
  t.equal((await admin.call('GET', '/v1/realms/default/clients/smuggled', { token: admin.tokens.full })).status, 404, 'no smuggled client');
  t.equal((await admin.call('GET', '/v1/realms/default/clients/web1', { token: admin.tokens.full })).status, 200, 'web1 still there');
});

t.test('the public routes are not served on the admin listener', async (t) => {
  const paths: [string, string][] = [
    ['GET', '/.well-known/openid-configuration'],
    ['GET', '/.well-known/oauth-authorization-server'],
    ['GET', '/jwks'],
    ['POST', '/token'],
    ['POST', '/token/introspection'],
    ['POST', '/token/revocation'],
    ['GET', '/auth?client_id=web1'],
    ['GET', '/me'],
    ['GET', '/session/end'],
    ['GET', '/interaction/abc'],
    ['GET', '/healthz'],
    ['GET', '/readyz'],
    ['GET', '/assets/latchkey.css'],
    ['GET', '/branding.css'],
    ['GET', '/realms/acme/.well-known/openid-configuration'],
    ['POST', '/realms/acme/token'],
    ['GET', '/'],
  ];
  for (const [method, path] of paths) {
    const answer = await send(admin.adminOrigin, method, path, {}, method === 'POST' ? 'grant_type=client_credentials' : undefined);
    t.equal(answer.status, 404, `${method} ${path}: 404`);
    t.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/, `${method} ${path}: the admin API's problem`);
    t.notMatch(answer.body, /issuer|access_token|"keys"|<html/i, `${method} ${path}: nothing of the public listener`);
  }
});

t.test('a real server process: the admin API on LATCHKEY_ADMIN_PORT (loopback), not on PORT; LATCHKEY_ADMIN_PORT=off has none', async (t) => {
  const adminPort = await freePort();
  const database = await createTestDatabase();
  t.teardown(() => database.drop());
  if (database.databaseUrl) await migrate(database.databaseUrl);
  const server = await spawnServer(t, await serverDirs(t), { databaseUrl: database.databaseUrl, env: { LATCHKEY_ADMIN_PORT: String(adminPort) } });
  const onAdmin = await waitFor(() => fetch(`http://127.0.0.1:${adminPort}/v1/realms`).catch(() => undefined));
  t.equal(onAdmin?.status, 401, 'the admin listener asks for a token');
  t.equal(onAdmin?.headers.get('www-authenticate'), 'Bearer realm="latchkey-admin"');
  t.equal((await fetch(`${server.issuer}/v1/realms`)).status, 404, 'the public listener has no such route');
  t.match(server.output(), new RegExp(`admin API {2}http://127\\.0\\.0\\.1:${adminPort}/openapi\\.json`), 'the start says where');
});

t.test('LATCHKEY_ADMIN_PORT=off: no admin listener at all', async (t) => {
  const off = await startAdmin(t, { env: { LATCHKEY_ADMIN_PORT: 'off' } }).catch((error: Error) => error);
  t.match(off, { message: /admin listener is off/ }, 'nothing to listen on');
});

void publicUrl;
