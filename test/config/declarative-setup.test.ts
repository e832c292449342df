import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { ConfigError } from '../../src/errors/index.ts';
import { loadConfig, loadDeclarativeFile, parseDeclarativeSetup } from '../../src/config/index.ts';

const parse = (document: unknown, env: Record<string, string> = {}, nodeEnv = 'test') =>
  parseDeclarativeSetup(document, { env, nodeEnv, source: 'setup.yaml' });

const webClient = (extra: Record<string, unknown> = {}) => ({
  client_id: 'web', client_secret: 'web-secret', redirect_uris: ['https://app.example.com/cb'], ...extra,
});
const realmWith = (client: Record<string, unknown>) => ({ realms: [{ name: 'default', clients: [client] }] });

function refused(t: Test, document: unknown, field: string, problem?: RegExp, env: Record<string, string> = {}, nodeEnv = 'test'): ConfigError {
  const error = t.throws(() => parse(document, env, nodeEnv)) as ConfigError;
  t.type(error, ConfigError, 'a ConfigError');
  t.equal(error.field, field, `names ${field}`);
  t.match(error.message, new RegExp(`^setup\\.yaml: ${field.replace(/[[\].]/g, '\\$&')}: `));
  if (problem) t.match(error.message, problem);
  return error;
}

t.test('a web client gets the defaults a person expects', async (t) => {
  const [client] = parse(realmWith(webClient())).realms[0]!.clients;
  t.match(client, {
    client_id: 'web',
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['https://app.example.com/cb'],
    post_logout_redirect_uris: [],
  });
});

t.test('a service client: no response types, no redirect URIs', async (t) => {
  const [client] = parse(realmWith({ client_id: 'svc', client_secret: 's', grant_types: ['client_credentials'], scope: 'api:read' })).realms[0]!.clients;
  t.same(client!.response_types, []);
  t.same(client!.redirect_uris, []);
});

t.test('a client without a secret is public', async (t) => {
  const [client] = parse(realmWith({ client_id: 'spa', redirect_uris: ['https://spa.example.com/cb'] })).realms[0]!.clients;
  t.equal(client!.token_endpoint_auth_method, 'none');
});

t.test('redirect URI rules (SECURITY-CATALOG case 14), each naming the URI\'s index', async (t) => {
  const bad: [string, RegExp][] = [
    ['https://*.app.example.com/cb', /wildcard/],
    ['javascript:alert(1)', /javascript: scheme/],
    ['data:text/html,<b>x</b>', /data: scheme|angle brackets/],
    ['https://app.example.com/cb#frag', /fragment/],
    ['/relative/cb', /absolute/],
    ['http://app.example.com/cb', /https/],
    ['https://user:pw@app.example.com/cb', /user information/],
    ['https://app.example.com/c b', /spaces/],
    ['com.example.app:/cb', /private-use schemes are for application_type native/],
    [`https://app.example.com/${'a'.repeat(2100)}`, /2000/],
  ];
  for (const [uri, problem] of bad) {
    refused(t, realmWith(webClient({ redirect_uris: ['https://ok.example.com/cb', uri] })), 'realms[0].clients[0].redirect_uris[1]', problem);
  }
});

t.test('native apps: private-use reverse-domain schemes and loopback over http', async (t) => {
  const native = (uri: string) => realmWith({ client_id: 'app', application_type: 'native', redirect_uris: [uri] });
  t.ok(parse(native('com.example.app:/oauth2redirect')));
  t.ok(parse(native('http://127.0.0.1/cb')));
  t.ok(parse(native('http://[::1]/cb')));
  refused(t, native('myapp:/cb'), 'realms[0].clients[0].redirect_uris[0]', /reverse domain/);
  refused(t, native('http://example.com/cb'), 'realms[0].clients[0].redirect_uris[0]', /https/);
});

t.test('http://localhost for a web client: development yes, production no', async (t) => {
  const local = realmWith(webClient({ redirect_uris: ['http://localhost:8080/callback'] }));
  t.ok(parse(local, {}, 'development'));
  refused(t, local, 'realms[0].clients[0].redirect_uris[0]', /production/, {}, 'production');
});

t.test('combinations that make no sense are refused, naming the field', async (t) => {
  refused(t, realmWith({ client_id: 'spa', token_endpoint_auth_method: 'none', grant_types: ['client_credentials'] }), 'realms[0].clients[0].grant_types', /public client/);
  refused(t, realmWith({ client_id: 'x', client_secret: 's', grant_types: ['refresh_token'] }), 'realms[0].clients[0].grant_types', /authorization_code/);
  refused(t, realmWith({ client_id: 'x', client_secret: 's' }), 'realms[0].clients[0].redirect_uris', /at least one/);
  refused(t, realmWith({ client_id: 'x', client_secret: 's', grant_types: ['client_credentials'], redirect_uris: ['https://a.example/cb'] }), 'realms[0].clients[0].redirect_uris');
  refused(t, realmWith(webClient({ token_endpoint_auth_method: 'client_secret_post', client_secret: undefined })), 'realms[0].clients[0].client_secret', /required/);
  refused(t, realmWith(webClient({ token_endpoint_auth_method: 'none' })), 'realms[0].clients[0].client_secret', /not used/);
  refused(t, realmWith(webClient({ token_endpoint_auth_method: 'private_key_jwt', client_secret: undefined })), 'realms[0].clients[0].jwks_uri', /jwks/);
  refused(t, realmWith(webClient({ scope: 'openid "quoted"' })), 'realms[0].clients[0].scope');
  refused(t, realmWith(webClient({ logo_uri: 'http://cdn.example.com/logo.png' })), 'realms[0].clients[0].logo_uri', /https/);
  refused(t, realmWith(webClient({ primary_color: 'red;background:url(x)' })), 'realms[0].clients[0].primary_color', /colour/);
  refused(t, realmWith(webClient({ permissions: ['superuser'] })), 'realms[0].clients[0].permissions[0]', /introspection/);
});

t.test('schema errors name the field', async (t) => {
  refused(t, {}, 'realms', /required/);
  refused(t, { realms: [{ name: 'Bad Name' }] }, 'realms[0].name', /lower-case/);
  refused(t, realmWith(webClient({ redirect_uri: ['https://typo.example/cb'] })), 'realms[0].clients[0].redirect_uri', /unknown property/);
  refused(t, realmWith(webClient({ grant_types: ['implicit'] })), 'realms[0].clients[0].grant_types[0]', /one of/);
  refused(t, realmWith(webClient({ ttl: { access_token: -5 } })), 'realms[0].clients[0].ttl.access_token');
  refused(t, realmWith(webClient({ ttl: { session: 60 } })), 'realms[0].clients[0].ttl.session', /realm/);
  refused(t, { realms: [{ name: 'default', clients: ['web'] }] }, 'realms[0].clients[0]', /object/);
  refused(t, { realms: [{ name: 'default', users: [{ username: 'jane', password: 'p', password_hash: '$pbkdf2-sha256$i=27500$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA' }] }] }, 'realms[0].users[0].password_hash', /not both/);
  refused(t, { realms: [{ name: 'default', users: [{ username: 'jane', password_hash: '$md5$abc' }] }] }, 'realms[0].users[0].password_hash', /not a password hash/);
  refused(t, { realms: [{ name: 'default', users: [{ username: 'jane', password_hash: '$pbkdf2-sha256$i=99999999$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaA' }] }] }, 'realms[0].users[0].password_hash', /iterations/);
  refused(t, { realms: [{ name: 'default', users: [{ username: 'jane', password: 'p', email: 'not-an-email' }] }] }, 'realms[0].users[0].email');
});

t.test('a user declared without a password is accepted: it signs in once one is set', async (t) => {
  const [user] = parse({ realms: [{ name: 'default', users: [{ username: 'jane' }] }] }).realms[0]!.users;
  t.equal(user!.password, undefined);
  t.equal(user!.password_hash, undefined);
});

t.test('duplicates are refused', async (t) => {
  refused(t, { realms: [{ name: 'a' }, { name: 'a' }] }, 'realms[1].name', /twice/);
  refused(t, { realms: [{ name: 'a', clients: [webClient(), webClient()] }] }, 'realms[0].clients[1].client_id', /twice/);
  refused(t, { realms: [{ name: 'a', users: [{ username: 'Jane', password: 'p' }, { username: 'jane', password: 'q' }] }] }, 'realms[0].users[1].username', /twice/);
});

t.test('a too-long secret is refused without echoing it', async (t) => {
  const secret = 'z'.repeat(2000);
  const error = refused(t, realmWith(webClient({ client_secret: secret })), 'realms[0].clients[0].client_secret');
  t.notMatch(error.message, /zzzz/);
});

t.test('${ENV} placeholders', async (t) => {
  const setup = parse(realmWith(webClient({ client_secret: '${WEB_SECRET}', client_name: 'Shop ${SHOP:-default shop} $${literal}' })), { WEB_SECRET: 'from-env' });
  t.equal(setup.realms[0]!.clients[0]!.client_secret, 'from-env');
  t.equal(setup.realms[0]!.clients[0]!.client_name, 'Shop default shop ${literal}');

  const unset = refused(t, realmWith(webClient({ client_secret: '${MISSING_SECRET}' })), 'realms[0].clients[0].client_secret', /MISSING_SECRET is not set/);
  t.ok(unset);
  refused(t, realmWith(webClient({ client_secret: '${not valid}' })), 'realms[0].clients[0].client_secret', /placeholder/);

  // A value from the environment cannot change the document's structure.
  const injected = parse(realmWith(webClient({ client_name: '${NAME}' })), { NAME: 'x", client_secret: "stolen' });
  t.equal(injected.realms[0]!.clients[0]!.client_secret, 'web-secret');
  t.equal(injected.realms[0]!.clients[0]!.client_name, 'x", client_secret: "stolen');
});

t.test('development_only files are refused in production', async (t) => {
  refused(t, { development_only: true, realms: [] }, 'development_only', /NODE_ENV=production/, {}, 'production');
  t.ok(parse({ development_only: true, realms: [] }, {}, 'development'));
});

t.test('files: YAML and JSON, bad syntax and duplicate keys are named by line, missing files by name', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const options = { env: {}, nodeEnv: 'test' };

  await writeFile(path.join(dir, 'ok.json'), JSON.stringify(realmWith(webClient())));
  t.equal((await loadDeclarativeFile(path.join(dir, 'ok.json'), options)).realms[0]!.clients.length, 1);

  await writeFile(path.join(dir, 'dup.yaml'), 'realms: []\nrealms: []\n');
  await t.rejects(loadDeclarativeFile(path.join(dir, 'dup.yaml'), options), { message: /dup\.yaml: line 2, column 1: not valid YAML or JSON/ });

  await writeFile(path.join(dir, 'broken.yaml'), 'realms:\n  - name: default\n    clients: [unclosed\n');
  await t.rejects(loadDeclarativeFile(path.join(dir, 'broken.yaml'), options), { message: /broken\.yaml: line \d+, column \d+: not valid YAML or JSON/ });

  await t.rejects(loadDeclarativeFile(path.join(dir, 'absent.yaml'), options), { message: /absent\.yaml: \(file\): no such file/ });
});

t.test('loadConfig: the default file may be absent, a named one must exist', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  t.same((await loadConfig({ env: {}, cwd: dir })).setup, { realms: [] });
  await t.rejects(loadConfig({ env: { LATCHKEY_CONFIG: 'nope.yaml' }, cwd: dir }), { message: /nope\.yaml: \(file\): no such file/ });
});

t.test('the shipped demo file is valid, and refused in production', async (t) => {
  const root = path.resolve(import.meta.dirname, '../..');
  const demo = await loadConfig({ env: {}, cwd: root });
  t.same(demo.setup.realms[0]!.clients.map((c) => c.client_id), ['demo-web', 'demo-spa', 'demo-service', 'demo-api']);
  await t.rejects(loadConfig({ env: { NODE_ENV: 'production' }, cwd: root }), { message: /development_only: / });
  const example = await loadDeclarativeFile(path.join(root, 'config/latchkey.production.example.yaml'), {
    env: { ORDERS_WEB_SECRET: 'a', BILLING_SERVICE_SECRET: 'b', GATEWAY_SECRET: 'c', ADMIN_PASSWORD: 'd' },
    nodeEnv: 'production',
  });
  t.equal(example.realms[0]!.clients.length, 3);
});

t.test('branding (SECURITY-CATALOG 82–84): hostile URLs, colours and names are refused, naming the field', async (t) => {
  const badUrls: [string, RegExp][] = [
    ['javascript:alert(1)', /https|parentheses/],
    ['data:text/html,<b>x</b>', /https|angle/],
    ['vbscript:msgbox(1)', /https|parentheses/],
    ['//evil.test/x.png', /https/],
    ['http://cdn.example.com/bg.png', /https/],
    ['https://x/a.png);}</style><script>alert(1)</script>', /parentheses|angle/],
    ["https://x/a.png') ; background:url(https://evil/track", /quotes|parentheses|spaces/],
    ['https://x/\\" onload=', /backslashes|quotes/],
  ];
  for (const [uri, problem] of badUrls) {
    refused(t, realmWith(webClient({ background_uri: uri })), 'realms[0].clients[0].background_uri', problem);
    refused(t, { realms: [{ name: 'default', branding: { background_uri: uri } }] }, 'realms[0].branding.background_uri', problem);
  }
  refused(t, realmWith(webClient({ logo_uri: 'data:image/svg+xml,<svg onload=alert(1)>' })), 'realms[0].clients[0].logo_uri');
  refused(t, realmWith(webClient({ logo_uri: '/assets/logo.png' })), 'realms[0].clients[0].logo_uri', /https/);
  refused(t, realmWith(webClient({ client_name: 'x'.repeat(101) })), 'realms[0].clients[0].client_name');
  refused(t, realmWith(webClient({ client_name: 'evil\u202Egnp.exe' })), 'realms[0].clients[0].client_name', /text-direction/);
  refused(t, realmWith(webClient({ client_name: 'tab\there' })), 'realms[0].clients[0].client_name', /control/);
  refused(t, { realms: [{ name: 'default', branding: { primary_color: 'red' } }] }, 'realms[0].branding.primary_color', /colour/);
  refused(t, { realms: [{ name: 'default', branding: { colour: '#ffffff' } }] }, 'realms[0].branding.colour', /unknown property/);

  const ok = parse({ realms: [{ name: 'default', branding: { app_name: 'Acme ID', background_uri: '/assets/bg.jpg', primary_color: '#1A73E8', logo_uri: 'https://cdn.example.com/l.png' }, clients: [webClient({ client_name: '<Acme & "Co">', background_uri: 'https://cdn.example.com/bg.png' })] }] });
  t.same(ok.realms[0]!.branding, { app_name: 'Acme ID', background_uri: '/assets/bg.jpg', primary_color: '#1A73E8', logo_uri: 'https://cdn.example.com/l.png' }, 'a realm default, with a same-origin background');
  t.equal(ok.realms[0]!.clients[0]!.client_name, '<Acme & "Co">', 'markup characters in a name are fine: the pages escape them');
});

t.test('resource servers (RFC 8707): defaults, and refusals naming the field', async (t) => {
  const realm = (resourceServers: unknown[], clients: unknown[] = []) => ({ realms: [{ name: 'default', resource_servers: resourceServers, clients }] });
  const [parsed] = parse(realm([
    { identifier: 'https://orders.example.com', scopes: ['orders:read'] },
    { identifier: 'api://default', scopes: [], access_token: { format: 'opaque', lifetime: 180, algorithm: 'RS256' } },
  ])).realms;
  t.same(parsed!.resource_servers, [
    { identifier: 'https://orders.example.com', scopes: ['orders:read'], access_token: { format: 'jwt', algorithm: 'ES256' } },
    { identifier: 'api://default', scopes: [], access_token: { format: 'opaque', lifetime: 180, algorithm: 'RS256' } },
  ], 'JWTs signed ES256 unless said otherwise');

  refused(t, realm([{ identifier: 'https://a.example.com#x', scopes: [] }]), 'realms[0].resource_servers[0].identifier', /fragment/);
  refused(t, realm([{ identifier: '/relative', scopes: [] }]), 'realms[0].resource_servers[0].identifier', /absolute URI/);
  refused(t, realm([{ identifier: 'https://a.example.com', scopes: ['a b'] }]), 'realms[0].resource_servers[0].scopes', /scope token/);
  refused(t, realm([{ identifier: 'https://a.example.com', scopes: [], audience: 'x' }]), 'realms[0].resource_servers[0].audience', /unknown property/);
  refused(t, realm([{ identifier: 'https://a.example.com', scopes: [], access_token: { algorithm: 'HS256' } }]), 'realms[0].resource_servers[0].access_token.algorithm');
  refused(t, realm([{ identifier: 'https://a.example.com', scopes: [], access_token: { format: 'jwe' } }]), 'realms[0].resource_servers[0].access_token.format');
  refused(t, realm([{ identifier: 'https://a.example.com', scopes: [] }, { identifier: 'https://a.example.com', scopes: [] }]), 'realms[0].resource_servers[1].identifier', /declared twice/);
  refused(t, realm([], [webClient({ default_resource: 'https://nowhere.example.com' })]), 'realms[0].clients[0].default_resource', /names no resource server/);
  t.equal(parse(realm([{ identifier: 'https://a.example.com', scopes: [] }], [webClient({ default_resource: 'https://a.example.com' })])).realms[0]!.clients[0]!.default_resource, 'https://a.example.com');
});
