import { createPrivateKey } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { SECRETS, type SetupDocument } from '../helpers/setups.ts';
import { ADMIN_SECRETS, adminSetupDocument, startAdmin } from './admin-setup.ts';

// A realm's effective configuration, secrets left out, and re-applying the
// setup file the server started with: the start's reading, validation and
// apply (src/realms/setup-application.ts), what needs a restart named.
const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-realm-configuration-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const file = path.join(dir, 'latchkey.json');
const COOKIE_KEY = 'cookie-key-for-the-realm-configuration-test-0001';

function document(): SetupDocument {
  const setup = adminSetupDocument();
  const [main, acme] = setup.realms;
  main!['branding'] = { app_name: 'Latchkey test', primary_color: '#112233' };
  main!['resource_servers'] = [{ identifier: 'https://orders.example.test', scopes: ['orders:read'], access_token: { format: 'jwt', lifetime: 600 } }];
  acme!['layout'] = 'keycloak';
  acme!['aliases'] = ['okta'];
  acme!.users = [{ username: 'carol', password: 'carol-password-for-tests-1' }];
  return setup;
}
await writeFile(file, JSON.stringify(document()));
/** The default realm's declared clients: the demo's and the admin clients. */
const DECLARED_CLIENTS = document().realms[0]!.clients!.length;

const admin = await startAdmin(t, { document: document(), env: { LATCHKEY_CONFIG: file, LATCHKEY_COOKIE_KEYS: COOKIE_KEY } });
const read = (url: string) => admin.call('GET', url, { token: admin.tokens.readOnly });
const reapply = () => admin.call('POST', '/v1/setup/applications', { token: admin.tokens.full, body: {} });

/** Everything secret the test setup holds: passwords, client secrets, cookie and digest keys, private keys, the database URL. */
async function secrets(): Promise<string[]> {
  const privateKeys = [];
  for (const name of (await readdir(admin.keysDir)).filter((f) => f.endsWith('.pem'))) {
    privateKeys.push(String(createPrivateKey(await readFile(path.join(admin.keysDir, name), 'utf8')).export({ format: 'jwk' }).d));
  }
  const { secrets: server } = admin.latchkey.services;
  return [
    ...Object.values(SECRETS), ...Object.values(ADMIN_SECRETS), 'carol-password-for-tests-1', COOKIE_KEY,
    ...server.cookieKeys, server.digestKey.toString('base64url'), server.digestKey.toString('base64'), server.digestKey.toString('hex'),
    ...privateKeys, ...(admin.config.databaseUrl ? [admin.config.databaseUrl] : []),
  ];
}

function assertNoSecret(t: Test, text: string, known: string[]): void {
  const leaked = known.filter((secret) => text.includes(secret));
  t.same(leaked.map((secret) => `${secret.slice(0, 4)}…`), [], `none of ${known.length} secrets in the answer`);
  t.notMatch(text, /\$argon2|PRIVATE KEY|"d":/, 'no hash, no private key');
}

t.test('the default realm as it runs: issuer, endpoints, lifetimes, features, counts, secrets left out', async (t) => {
  const answer = await read('/v1/realms/default/configuration');
  t.equal(answer.status, 200, answer.text);
  const configuration = answer.json;
  t.match(configuration.issuers, [{
    issuer: admin.issuer, layout: 'standard', mount_path: '/', alias: false,
    discovery: `${admin.issuer}/.well-known/openid-configuration`,
    endpoints: { token: `${admin.issuer}/token`, jwks: `${admin.issuer}/jwks` },
  }]);
  t.equal(configuration.issuers.length, 1);
  const discovery = await (await fetch(configuration.issuers[0].discovery)).json() as Record<string, string>;
  t.equal(configuration.issuers[0].endpoints.token, discovery['token_endpoint'], 'the token endpoint discovery names');
  t.equal(configuration.issuers[0].endpoints.introspection, discovery['introspection_endpoint']);
  t.match(configuration.token_lifetimes, { access_token: Number, id_token: Number, refresh_token: Number });
  t.equal(configuration.password_grant_for_public_clients, false);
  t.same(configuration.branding, { app_name: 'Latchkey test', primary_color: '#112233' });
  for (const feature of ['clientCredentials', 'introspection', 'revocation', 'resourceIndicators']) t.ok(configuration.features.includes(feature), `${feature} is on`);
  t.notOk(configuration.features.includes('devInteractions'), 'development interactions are off');
  t.ok(configuration.scopes.includes('openid') && configuration.scopes.includes('orders:read') && configuration.scopes.includes('api:read'), 'scopes of the engine, clients and resource servers');
  t.match(configuration.resource_servers, [{ identifier: 'https://orders.example.test', scopes: ['orders:read'], access_token: { format: 'jwt', lifetime: 600 } }]);
  t.same(configuration.counts, { clients: DECLARED_CLIENTS, users: 1 });
  t.ok(configuration.signing.algorithms.includes('RS256'));
  t.match(configuration.signing, { id_token_alg: 'RS256', jwks_max_age_seconds: admin.config.keys.jwksMaxAgeSeconds, key_check_seconds: admin.config.keys.checkSeconds });
  t.same(configuration.server, {
    setup_file: file, database: admin.config.databaseUrl ? 'postgresql' : 'embedded', cookie_keys: 'configured', trust_proxy: false,
  });
  assertNoSecret(t, answer.text, await secrets());
});

t.test('a realm with a layout and an alias: one issuer each, over the same clients and users', async (t) => {
  const answer = await read('/v1/realms/acme/configuration');
  t.equal(answer.status, 200);
  t.match(answer.json.issuers, [
    { layout: 'keycloak', alias: false, issuer: `${admin.issuer}/realms/acme`, endpoints: { token: `${admin.issuer}/realms/acme/protocol/openid-connect/token` } },
    { layout: 'okta', alias: true, issuer: `${admin.issuer}/oauth2/acme`, endpoints: { token: `${admin.issuer}/oauth2/acme/v1/token` } },
  ]);
  t.same(answer.json.counts, { clients: 0, users: 1 });
  t.equal(answer.json.branding, null);
  assertNoSecret(t, answer.text, await secrets());
});

t.test('a realm not served is a 404; a name no realm can have a 400', async (t) => {
  const unknown = await read('/v1/realms/nowhere/configuration');
  t.equal(unknown.status, 404);
  t.equal(unknown.json.code, 'realm_not_found');
  t.equal((await read('/v1/realms/Not%20A%20Realm/configuration')).status, 400);
});

t.test('re-applying the unchanged file changes nothing, and says so as the start logs it', async (t) => {
  const answer = await reapply();
  t.equal(answer.status, 200, answer.text);
  t.equal(answer.json.file, file);
  t.same(answer.json.needs_restart, []);
  t.match(answer.json.applied, [
    { realm: 'default', clients: { created: 0, updated: 0, unchanged: DECLARED_CLIENTS }, users: { created: 0, updated: 0, unchanged: 1 }, resource_servers: { created: 0, updated: 0, unchanged: 1 } },
    { realm: 'acme', clients: { created: 0, updated: 0, unchanged: 0 }, users: { created: 0, updated: 0, unchanged: 1 } },
  ]);
  const logged = admin.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line['msg'] === 'declarative setup applied');
  t.equal(logged.length, 4, 'the start logged one report per realm, and the re-apply as many');
  t.same(logged.slice(2).map(({ realm, clients, users, resource_servers: servers }) => ({ realm, clients, users, resource_servers: servers })), answer.json.applied, 'the answer is the report the start logs');
  assertNoSecret(t, answer.text, await secrets());
});

t.test('a changed file: clients and users apply live; a new realm and new lifetimes are named, not applied', async (t) => {
  const changed = document();
  const lifetimesBefore = (await read('/v1/realms/default/configuration')).json.token_lifetimes;
  changed.realms[0]!['ttl'] = { access_token: 120 };
  changed.realms[0]!.clients!.push({ client_id: 'late1', client_secret: 'late1-secret-for-tests-only', grant_types: ['client_credentials'], scope: 'api:read' });
  changed.realms[0]!.users![0]!['email'] = 'alice@changed.example.test';
  changed.realms.push({ name: 'newrealm', clients: [{ client_id: 'new1', client_secret: 'new1-secret-for-tests-only', grant_types: ['client_credentials'] }], users: [] });
  await writeFile(file, JSON.stringify(changed));

  const answer = await reapply();
  t.equal(answer.status, 200, answer.text);
  t.match(answer.json.applied, [
    { realm: 'default', clients: { created: 1, unchanged: DECLARED_CLIENTS }, users: { updated: 1 } },
    { realm: 'acme' },
  ]);
  t.equal(answer.json.applied.length, 2, 'the new realm is not applied');
  t.same(answer.json.needs_restart, [
    { realm: 'newrealm', change: 'a new realm: served after a restart; nothing of it was applied' },
    { realm: 'default', change: 'token lifetimes (ttl)' },
  ]);
  t.notOk(answer.text.includes('late1-secret-for-tests-only'), 'the new client\'s secret is not in the answer');

  t.ok(await admin.token('late1', 'late1-secret-for-tests-only', 'api:read'), 'the new client gets tokens at once');
  const alice = await admin.call('GET', '/v1/realms/default/users/alice', { token: admin.tokens.readOnly });
  t.equal(alice.json.email, 'alice@changed.example.test', 'the changed user is changed');
  const configuration = (await read('/v1/realms/default/configuration')).json;
  t.equal(configuration.counts.clients, DECLARED_CLIENTS + 1, 'the added one counted');
  t.same(configuration.token_lifetimes, lifetimesBefore, 'the lifetimes the server runs with are the start\'s until a restart');
  t.equal((await read('/v1/realms/newrealm/configuration')).status, 404, 'the new realm is not served');
});

t.test('a file that no longer validates: 422 naming the field, nothing applied', async (t) => {
  const broken = document();
  broken.realms[0]!.clients!.push({ client_id: 'late2', client_secret: 'late2-secret-for-tests-only', grant_types: ['client_credentials'] });
  broken.realms[0]!.users!.push({ username: 'dave', password: 'dave-password-for-tests-1', colour: 'blue', roles: 'not-a-list' });
  await writeFile(file, JSON.stringify(broken));
  const answer = await reapply();
  t.equal(answer.status, 422, answer.text);
  t.equal(answer.json.code, 'config_invalid');
  t.match(answer.json.errors, [{ field: /^realms\[0\]\.users\[1\]/, message: String }]);
  t.notOk(answer.text.includes('dave-password-for-tests-1'), 'no value quoted');
  t.equal((await admin.call('GET', '/v1/realms/default/clients/late2', { token: admin.tokens.readOnly })).status, 404, 'the valid part was not applied either');

  await writeFile(file, '{ "realms": [ ');
  const unreadable = await reapply();
  t.equal(unreadable.status, 422);
  t.match(unreadable.json.errors, [{ field: /line|document/ }]);

  await rm(file);
  const missing = await reapply();
  t.equal(missing.status, 422);
  t.match(missing.json.detail, /no such file/);
  t.equal((await read('/v1/realms/default/configuration')).status, 200, 'the server runs on as before');
});
