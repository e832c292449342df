import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { jsonRequest, startRegistration, WEB_CLIENT } from './registration-setup.ts';

// RFC 7592: a registered client reads, updates and deletes its registration
// with its registration access token, which rotates on every update; the
// same policy and rules apply to updates; a realm may turn management off.
// At rest there are digests only: no initial access token, registration
// access token or client secret is stored in plain.
const server = await startRegistration(t);
const db = server.latchkey.services.database.db;

async function registered(realm = 'acme', metadata: Record<string, unknown> = WEB_CLIENT) {
  const { token } = await server.issueToken(realm);
  const answer = await server.register(realm, metadata, token);
  if (answer.status !== 201) throw new Error(`registration failed: ${answer.status} ${answer.text}`);
  return { ...answer.json as Record<string, any>, initialAccessToken: token } as Record<string, any> & {
    client_id: string; registration_client_uri: string; registration_access_token: string; initialAccessToken: string;
  };
}

t.test('read: the registration as stored, without the secret or its digest', async (t) => {
  const client = await registered();
  const read = await jsonRequest('GET', client.registration_client_uri, { token: client.registration_access_token });
  t.equal(read.status, 200);
  t.equal(read.headers.get('cache-control'), 'no-store');
  t.match(read.json, { client_id: client.client_id, client_name: WEB_CLIENT.client_name, redirect_uris: WEB_CLIENT.redirect_uris });
  t.notOk('client_secret' in read.json, 'no client_secret');
  t.notMatch(read.text, /\$hmac-sha256\$|\$argon2/, 'no digest');
  t.equal((await jsonRequest('GET', client.registration_client_uri, { token: 'wrong' })).status, 401, 'a wrong token');
  t.equal((await jsonRequest('GET', client.registration_client_uri)).status, 401, 'no token');
});

t.test("one client's token does not read another's, and is spent by trying", async (t) => {
  const [a, b] = [await registered(), await registered()];
  const crossed = await jsonRequest('GET', b.registration_client_uri, { token: a.registration_access_token });
  t.equal(crossed.status, 401);
  t.equal(crossed.json.error, 'invalid_token');
  t.equal((await jsonRequest('GET', a.registration_client_uri, { token: a.registration_access_token })).status, 401, "the engine destroys a token used on another client's registration");
  t.equal((await jsonRequest('GET', b.registration_client_uri, { token: b.registration_access_token })).status, 200, 'the other one is unaffected');
});

t.test('update: judged like a registration; the token rotates; the secret stays', async (t) => {
  const client = await registered();
  const before = await server.latchkey.services.clients.find('acme', client.client_id);
  const put = (body: Record<string, unknown>, token = client.registration_access_token) => jsonRequest('PUT', client.registration_client_uri, { token, body });
  const change = { client_id: client.client_id, client_name: 'Renamed', redirect_uris: ['https://renamed.test/cb'], grant_types: ['authorization_code'], response_types: ['code'] };

  const hostile = await put({ ...change, redirect_uris: ['javascript:alert(1)'] });
  t.equal(hostile.status, 400);
  t.equal(hostile.json.error, 'invalid_redirect_uri');
  const privileged = await put({ ...change, permissions: ['introspection'] });
  t.equal(privileged.json.error, 'invalid_client_metadata');
  t.match(privileged.json.error_description, /permissions: set by an administrator only/);
  const outside = await put({ ...change, grant_types: ['client_credentials'], redirect_uris: [], response_types: [] });
  t.match(outside.json.error_description, /grant_types: client_credentials is not open/);
  const otherId = await put({ ...change, client_id: 'web1' });
  t.equal(otherId.status, 400, 'another client_id');

  const updated = await put(change);
  t.equal(updated.status, 200, updated.text);
  t.equal(updated.json.client_name, 'Renamed');
  t.notOk('client_secret' in updated.json, 'no secret or digest in the answer');
  const rotated = updated.json.registration_access_token as string;
  t.not(rotated, client.registration_access_token, 'a new registration access token');
  t.equal((await jsonRequest('GET', client.registration_client_uri, { token: client.registration_access_token })).status, 401, 'the old one is dead');
  const read = await jsonRequest('GET', client.registration_client_uri, { token: rotated });
  t.same(read.json.redirect_uris, ['https://renamed.test/cb']);
  t.same(read.json.grant_types, ['authorization_code'], 'the whole registration is replaced');

  const after = await server.latchkey.services.clients.find('acme', client.client_id);
  t.equal(after!.secret_hash, before!.secret_hash, 'the secret is unchanged');
  t.same(after!.metadata['redirect_uris'], ['https://renamed.test/cb'], 'stored through the client service');
  const admin = await server.call('GET', `/v1/realms/acme/clients/${encodeURIComponent(client.client_id)}`, { token: server.tokens.readOnly });
  t.equal(admin.json.client_name, 'Renamed', 'the admin API sees the change');
});

t.test('delete: the client and its tokens go; the admin API no longer has it', async (t) => {
  const client = await registered();
  const removed = await jsonRequest('DELETE', client.registration_client_uri, { token: client.registration_access_token });
  t.equal(removed.status, 204);
  t.equal((await jsonRequest('GET', client.registration_client_uri, { token: client.registration_access_token })).status, 401, 'its token is gone with it');
  t.equal((await server.call('GET', `/v1/realms/acme/clients/${encodeURIComponent(client.client_id)}`, { token: server.tokens.readOnly })).status, 404);
});

t.test("an admin's delete takes the registration access token with the client", async (t) => {
  const client = await registered();
  t.equal((await server.call('DELETE', `/v1/realms/acme/clients/${encodeURIComponent(client.client_id)}`, { token: server.tokens.full })).status, 204);
  const rows = await db.selectFrom('oidc_payloads').select('id').where('realm', '=', 'acme').where('model', '=', 'RegistrationAccessToken')
    .where(sql<string>`payload->>'clientId'`, '=', client.client_id).execute();
  t.equal(rows.length, 0, 'no token row is left to manage a client re-created under that id');
});

t.test('management off (partners): read works, update and delete are not served', async (t) => {
  const client = await registered('partners', { grant_types: ['client_credentials'], scope: 'orders:read' });
  t.equal((await jsonRequest('GET', client.registration_client_uri, { token: client.registration_access_token })).status, 200);
  const put = await jsonRequest('PUT', client.registration_client_uri, { token: client.registration_access_token, body: { client_id: client.client_id, grant_types: ['client_credentials'] } });
  t.equal(put.status, 404);
  t.equal((await jsonRequest('DELETE', client.registration_client_uri, { token: client.registration_access_token })).status, 404);
  t.ok(await server.latchkey.services.clients.find('partners', client.client_id), 'still there');
});

t.test('digests at rest: no initial access token, registration access token or secret in plain', async (t) => {
  const client = await registered();
  const secrets = { initialAccessToken: client.initialAccessToken, registrationAccessToken: client.registration_access_token, clientSecret: client['client_secret'] as string };
  const dump = JSON.stringify([
    await db.selectFrom('oidc_payloads').selectAll().execute(),
    await db.selectFrom('clients').selectAll().execute(),
    await db.selectFrom('initial_access_tokens').selectAll().execute(),
  ]);
  for (const [name, value] of Object.entries(secrets)) {
    t.ok(value && value.length >= 40, `${name} was handed out`);
    t.notOk(dump.includes(value), `${name} is nowhere in oidc_payloads, clients or initial_access_tokens`);
  }
  const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
  const rat = await db.selectFrom('oidc_payloads').select(['model', 'payload']).where('id', '=', sha256(secrets.registrationAccessToken)).executeTakeFirst();
  t.equal(rat?.model, 'RegistrationAccessToken', 'the registration access token is found by its digest');
  t.notOk('jti' in (rat?.payload ?? {}), 'and its payload does not hold its value');
  t.ok(await db.selectFrom('initial_access_tokens').select('id').where('value_digest', '=', sha256(secrets.initialAccessToken)).executeTakeFirst(), 'nor does the initial access token row');
  const stored = await server.latchkey.services.clients.find('acme', client.client_id);
  t.match(stored!.secret_hash, /^\$hmac-sha256\$/, 'the secret is stored as the digest of a generated secret');
  t.notOk('client_secret' in stored!.metadata, 'and not in the metadata');
  t.notOk(server.logs.join('').includes(secrets.clientSecret) || server.logs.join('').includes(secrets.registrationAccessToken), 'nor in the logs');
});
