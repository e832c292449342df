import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { loadDeclarativeFile, type DeclarativeSetup } from '../../src/config/index.ts';
import { describeKeycloakImport } from '../../src/config/keycloak-summary.ts';
import { ConfigError } from '../../src/errors/index.ts';

// Issue 11: a Keycloak realm export (test/fixtures/keycloak/README.md) read
// as a setup file: what each Keycloak field becomes, what the summary lists,
// and hostile or malformed exports refused with the field named, never a crash.
const FIXTURE = fileURLToPath(new URL('../fixtures/keycloak/realm-export.json', import.meta.url));
const fixture = JSON.parse(await readFile(FIXTURE, 'utf8')) as Record<string, any>;
const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-keycloak-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));

let files = 0;
async function load(document: unknown, nodeEnv = 'test'): Promise<DeclarativeSetup> {
  const file = path.join(dir, `export-${files++}.json`);
  await writeFile(file, typeof document === 'string' ? document : JSON.stringify(document));
  return loadDeclarativeFile(file, { env: {}, nodeEnv });
}

async function refused(t: Test, document: unknown, field: string, problem: RegExp, nodeEnv = 'test'): Promise<void> {
  const error = await load(document, nodeEnv).then(() => undefined, (e: unknown) => e);
  t.type(error, ConfigError, `refused (${field})`);
  t.equal((error as ConfigError).field, field, `names ${field}`);
  t.match((error as Error).message, problem);
}

/** The fixture with changes, as a fresh copy. */
function changed(change: (realm: Record<string, any>) => void): Record<string, any> {
  const copy = structuredClone(fixture);
  change(copy);
  return copy;
}

/** A realm with one user and the given credential. */
function withCredential(credential: Record<string, unknown>): Record<string, unknown> {
  return { realm: 'creds', users: [{ username: 'victim', enabled: true, credentials: [credential] }] };
}
const PBKDF2_SECRET = '{"value":"Ieehc7x9rGmK5Vz6BKgTG+4iYq4HZufBPWUWqjgcX10=","salt":"p/D34ucBjQ01Zldt4gOH0A=="}';
const argon2Data = (parameters: Record<string, string[]>, iterations = 5) => JSON.stringify({
  hashIterations: iterations, algorithm: 'argon2',
  additionalParameters: { hashLength: ['32'], memory: ['7168'], type: ['id'], version: ['1.3'], parallelism: ['1'], ...parameters },
});

const setup = await load(fixture);
const realm = setup.realms[0]!;
const client = (id: string) => realm.clients.find((c) => c.client_id === id);
const user = (name: string) => realm.users.find((u) => u.username === name);

t.test('the realm: its name in lower case, Keycloak\'s lifespans as lifetimes, its display name as branding', async (t) => {
  t.equal(setup.realms.length, 1);
  t.equal(realm.name, 'acme-corp');
  t.same(realm.ttl, {
    access_token: 180, client_credentials: 180, id_token: 180, refresh_token: 1800, session: 36000, grant: 36000, authorization_code: 60, interaction: 1800,
  });
  t.same(realm.branding, { app_name: 'Acme Corporation' });
  t.equal(realm.allow_password_grant_for_public_clients, true, 'cli-tool is a public client with direct access grants');
});

t.test('clients: Keycloak\'s built-in ones and those Latchkey cannot represent are left out', async (t) => {
  t.same(realm.clients.map((c) => c.client_id).sort(), ['cli-tool', 'legacy-script', 'mobile-app', 'orders-api', 'orders-web']);
});

t.test('a confidential web client: secret, exact redirect URIs (relative ones on rootUrl), post-logout URIs, scopes, lifetimes, branding', async (t) => {
  t.match(client('orders-web'), {
    client_secret: 'orders-web-secret-from-keycloak',
    token_endpoint_auth_method: 'client_secret_basic',
    application_type: 'web',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['https://orders.acme.example/callback', 'https://orders.acme.example/silent-renew.html'],
    // `https://…/bye##+`: the listed one, then `+` = the redirect URIs.
    post_logout_redirect_uris: ['https://orders.acme.example/bye', 'https://orders.acme.example/callback', 'https://orders.acme.example/silent-renew.html'],
    client_name: 'Orders',
    logo_uri: 'https://orders.acme.example/logo.png',
    ttl: { access_token: 120, client_credentials: 120, id_token: 120 },
  });
  t.same(client('orders-web')!.scope!.split(' '), ['openid', 'web-origins', 'acr', 'roles', 'profile', 'basic', 'email', 'address', 'phone', 'offline_access', 'organization', 'microprofile-jwt']);
});

t.test('webOrigins become web_origins (the CORS origins of the client); a wildcard is listed, not imported', async (t) => {
  t.same(client('orders-web')!.web_origins, ['https://orders.acme.example']);
  t.same(client('orders-api')!.web_origins, [], 'an empty list: no origin, as in Keycloak');
  t.notMatch(setup.keycloak!.realms[0]!.notImported.join('\n'), /web origins/);
});

t.test('service accounts, direct access grants, public and native clients', async (t) => {
  t.match(client('orders-api'), { grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'roles orders:read' });
  t.same(client('orders-api')!.roles, ['orders-reader'], 'its service account\'s realm roles, Keycloak\'s built-ins left out');
  t.match(client('legacy-script'), { grant_types: ['password', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic' });
  t.match(client('cli-tool'), { grant_types: ['password', 'refresh_token'], token_endpoint_auth_method: 'none' });
  t.match(client('mobile-app'), { application_type: 'native', token_endpoint_auth_method: 'none', redirect_uris: ['com.acme.orders:/callback'] });
});

t.test('users: profile, kept hashes as PHC strings, a plain password, none, disabled', async (t) => {
  t.equal(realm.users.length, 14, 'the service account\'s user is not a person');
  t.notOk(user('service-account-orders-api'));
  t.match(user('alice'), { email: 'alice@acme.example', email_verified: true, disabled: false, given_name: 'Alice', family_name: 'Anders', name: 'Alice Anders', locale: 'de', phone_number: '+49 30 1234567' });
  t.match(user('alice')!.password_hash, /^\$pbkdf2-sha256\$i=27500\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  t.match(user('bob')!.password_hash, /^\$pbkdf2-sha512\$i=210000\$/);
  t.match(user('carol')!.password_hash, /^\$pbkdf2-sha1\$i=20000\$/);
  t.match(user('heidi')!.password_hash, /^\$pbkdf2-sha256\$i=27500\$/, 'Keycloak < 10\'s hashedSaltedValue');
  t.match(user('dave')!.password_hash, /^\$argon2id\$v=19\$m=7168,t=5,p=1\$/);
  t.match(user('erin')!.password_hash, /^\$argon2i\$v=16\$m=7168,t=5,p=1\$/);
  t.equal(user('frank')!.password, 'frank-password-6');
  t.equal(user('grace')!.password, undefined);
  t.equal(user('grace')!.password_hash, undefined);
  t.equal(user('ivan')!.disabled, true);
});

t.test('roles and groups: effective roles as Keycloak puts them in tokens', async (t) => {
  // alice is in /staff/engineering: orders-admin there (a composite of orders-reader and orders-api's write,
  // itself a composite of read), staff from /staff above it; default-roles-acme-corp and account's roles are Keycloak's own.
  // orders-api's roles in keycloak-connect's notation, which the keycloak layout shows as resource_access.orders-api.roles.
  t.same([...user('alice')!.roles as string[]].sort(), ['orders-admin', 'orders-api:read', 'orders-api:write', 'orders-reader', 'staff']);
  t.same(user('alice')!.groups, ['/staff/engineering']);
  t.equal(user('alice')!.claims, undefined);
  t.same([...user('bob')!.roles as string[]].sort(), ['orders-reader', 'staff']);
  t.same(user('carol')!.roles, []);
});

t.test('the summary accounts for what was skipped, needs attention or is not imported', async (t) => {
  const summary = setup.keycloak!.realms[0]!;
  t.match(summary, { keycloak: 'Acme-Corp', realm: 'acme-corp', users: { total: 14, keptHashes: 11, plainPasswords: 1, withoutPassword: 2, disabled: 1 } });
  const text = describeKeycloakImport(setup.keycloak!).join('\n');
  t.match(text, /Keycloak built-in clients: account, account-console, admin-cli, broker, realm-management, security-admin-console/);
  t.match(text, /Keycloak built-in roles: default-roles-acme-corp, offline_access, uma_authorization/);
  t.match(text, /service-account users .*: service-account-orders-api/);
  const attention = summary.attention.join('\n');
  t.match(attention, /wildcard.*orders-web: https:\/\/orders\.acme\.example\/\*/);
  t.match(attention, /every redirect URI has a wildcard.*spa: \/\*/);
  t.match(attention, /masks secrets as \*{10}.*partner-portal/);
  t.match(attention, /no password.*grace, larry/);
  const notImported = summary.notImported.join('\n');
  for (const expected of [
    /identity providers .*: google/, /authentication flows: browser with OTP$/m, /one-time-password \(OTP\) credentials: judy/,
    /required actions .*: CONFIGURE_TOTP/, /required actions given to every new user: TERMS_AND_CONDITIONS/,
    /other protocol than OpenID Connect: intranet-saml \(saml\)/, /bearer-only clients.*: reports-api/, /disabled clients: old-app/,
    /user federation \(LDAP, Kerberos\): corporate-ldap/, /protocol mappers.*: orders-web/,
    /user attributes .*: department/, /links to identity providers: google/, /password policy/, /e-mail \(SMTP\) settings/,
    /client scope definitions .*: orders:read/,
  ]) t.match(notImported, expected);
  t.notMatch(notImported, /authentication flows: browser(,|$)/m, 'built-in flows are Keycloak\'s own');
  t.match(summary.notes.join('\n'), /signing keys are not imported/);
});

t.test('Keycloak\'s ${…} message keys stay as they are (no placeholder substitution)', async (t) => {
  const loaded = await load(changed((r) => {
    r['clients'] = [{ clientId: 'app', name: 'App ${client_app}', secret: 's', redirectUris: ['https://app.example/cb'] }];
    r['users'] = [{ username: 'x', enabled: true, firstName: '${NOT_AN_ENV_VAR}' }];
  }));
  t.equal(loaded.realms[0]!.clients[0]!.client_name, 'App ${client_app}');
  t.equal(loaded.realms[0]!.users[0]!.given_name, '${NOT_AN_ENV_VAR}');
});

t.test('shapes: a list of realms, a users file of kc.sh export --dir, a partial export', async (t) => {
  const two = await load([{ realm: 'one', users: [{ username: 'a', enabled: true }] }, { realm: 'Two', clients: [] }]);
  t.same(two.realms.map((r) => r.name), ['one', 'two']);
  const usersOnly = await load({ realm: 'acme', users: [{ username: 'u1', enabled: true, realmRoles: ['default-roles-acme', 'reader'] }] });
  t.same(usersOnly.realms[0]!.users[0]!.roles, ['reader']);
  const partial = await load({ realm: 'p', clients: [{ clientId: 'c', secret: '**********', redirectUris: ['https://c.example/cb'] }] });
  t.same(partial.realms[0]!.clients, []);
  t.match(partial.keycloak!.realms[0]!.attention.join('\n'), /masks secrets.*: c$/);
});

t.test('a disabled realm is imported, and the summary says Latchkey serves it', async (t) => {
  const loaded = await load({ realm: 'off', enabled: false });
  t.match(loaded.keycloak!.realms[0]!.attention.join('\n'), /disabled in Keycloak/);
});

t.test('realm names: only upper case is changed; anything else, and a clash, is refused', async (t) => {
  await refused(t, { realm: 'My_Realm' }, 'realm', /"My_Realm" cannot be a Latchkey realm name.*rename the realm in the export/);
  await refused(t, { realm: 'acme.prod' }, 'realm', /rename/);
  await refused(t, [{ realm: 'Acme' }, { realm: 'acme' }], 'realm', /"Acme" and "acme" would both become Latchkey realm acme/);
  await refused(t, { realm: 42 }, 'realm', /must be a string/);
  await refused(t, [42], '[0]', /must be an object/);
  await refused(t, [], '(document)', /no Keycloak realm/);
});

t.test('hostile credentials: each refused with the field named, nothing crashes', async (t) => {
  const at = 'users[0].credentials[0]';
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: '{"hashIterations":2000000000,"algorithm":"pbkdf2-sha256"}' }),
    `${at}.credentialData`, /user "victim": iterations must be 1 to 2,000,000/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: '{"hashIterations":-1,"algorithm":"pbkdf2-sha256"}' }),
    `${at}.credentialData`, /iterations must be 1/);
  await refused(t, withCredential({ type: 'password', secretData: '{"value":"not base64!","salt":"p/D34ucBjQ01Zldt4gOH0A=="}', credentialData: '{"hashIterations":27500,"algorithm":"pbkdf2-sha256"}' }),
    `${at}.secretData`, /value is not base64/);
  await refused(t, withCredential({ type: 'password', secretData: '{"value":"Ieehc7x9rGmK5Vz6BKgTG+4iYq4HZufBPWUWqjgcX10=","salt":"p/D34ucBjQ01Zldt4gOH0A"}', credentialData: '{"hashIterations":27500,"algorithm":"pbkdf2-sha256"}' }),
    `${at}.secretData`, /salt is not base64/);
  await refused(t, withCredential({ type: 'password', secretData: '{"value":"AAAA","salt":"p/D34ucBjQ01Zldt4gOH0A=="}', credentialData: '{"hashIterations":27500,"algorithm":"pbkdf2-sha256"}' }),
    `${at}.credentialData`, /hash must be 16 to 256 bytes/);
  await refused(t, withCredential({ type: 'password', secretData: '{value: nope', credentialData: '{}' }), `${at}.secretData`, /not JSON/);
  await refused(t, withCredential({ type: 'password', secretData: '[1,2]', credentialData: '{}' }), `${at}.secretData`, /must hold a JSON object/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET }), `${at}.credentialData`, /is required/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: '{"hashIterations":"many","algorithm":"pbkdf2-sha256"}' }),
    `${at}.credentialData`, /hashIterations must be a whole number/);
  await refused(t, withCredential({ type: 'password', secretData: 42, credentialData: '{}' }), `${at}.secretData`, /must be a string/);
  await refused(t, withCredential({ type: 'password' }), at, /needs value, or secretData and credentialData/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: argon2Data({ memory: ['4194304'] }) }),
    `${at}.credentialData`, /memory must be 8 to 262144 KiB/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: argon2Data({ memory: ['65536'] }, 100) }),
    `${at}.credentialData`, /memory × iterations/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: argon2Data({ hashLength: ['64'] }) }),
    `${at}.credentialData`, /hashLength says 64 bytes, the value holds 32/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: argon2Data({ type: ['x'] }) }),
    `${at}.credentialData`, /type must be id, i or d/);
  await refused(t, withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: argon2Data({ parallelism: [] as string[] }) }),
    `${at}.credentialData`, /parallelism must be a list holding one string/);
});

t.test('a hash of an algorithm Latchkey does not verify leaves the user without a password, and says so', async (t) => {
  const loaded = await load(withCredential({ type: 'password', secretData: PBKDF2_SECRET, credentialData: '{"hashIterations":10,"algorithm":"bcrypt"}' }));
  t.equal(loaded.realms[0]!.users[0]!.password_hash, undefined);
  t.match(loaded.keycloak!.realms[0]!.attention.join('\n'), /cannot verify .*: victim \(bcrypt\)/);
});

t.test('wrong types and missing fields are named', async (t) => {
  await refused(t, { realm: 'r', users: [{ username: 'u', enabled: 'yes' }] }, 'users[0].enabled', /true or false/);
  await refused(t, { realm: 'r', users: [{ enabled: true }] }, 'users[0].username', /is required/);
  await refused(t, { realm: 'r', users: 'everyone' }, 'users', /must be a list/);
  await refused(t, { realm: 'r', clients: [{ secret: 's' }] }, 'clients[0].clientId', /is required/);
  await refused(t, { realm: 'r', clients: [{ clientId: 'c', secret: 's', redirectUris: 'https://c.example/cb' }] }, 'clients[0].redirectUris', /list of strings/);
  await refused(t, { realm: 'r', accessTokenLifespan: '300' }, 'accessTokenLifespan', /whole number/);
  await refused(t, { realm: 'r', users: [{ username: 'u', groups: [1] }] }, 'users[0].groups[0]', /must be a string/);
  await refused(t, { realm: 'r', roles: { realm: [{ composite: true }] } }, 'roles.realm[0].name', /is required/);
});

t.test('what the setup rules refuse is named by the export\'s client or user', async (t) => {
  // Late in the file: the 17th client.
  await refused(t, changed((r) => r['clients'].push({ clientId: 'plain-http', secret: 's', redirectUris: ['http://shop.example/cb'] })),
    'clients[16]', /client "plain-http": redirect_uris\[0\] \(as translated\): must use https/);
  await refused(t, changed((r) => r['users'].push({ username: 'bad-mail', enabled: true, email: 'not an address' })),
    'users[15]', /user "bad-mail": email \(as translated\)/);
  await refused(t, changed((r) => r['users'].push({ username: 'has space', enabled: true })), 'users[15]', /user "has space": username/);
  // NODE_ENV=production refuses http://localhost for web clients, as for any declared client.
  await refused(t, { realm: 'r', clients: [{ clientId: 'dev', secret: 's', redirectUris: ['http://localhost:3000/cb'] }] },
    'clients[0]', /client "dev": redirect_uris\[0\] \(as translated\): must use https in production/, 'production');
});

t.test('Latchkey\'s own format is read as before', async (t) => {
  const own = await load({ realms: [{ name: 'default', users: [{ username: 'jane', password: 'p' }] }] });
  t.equal(own.keycloak, undefined);
  t.equal(own.realms[0]!.users[0]!.username, 'jane');
});

t.test('the fixture with fields replaced by values of the wrong type: a ConfigError or a setup, never anything else', async (t) => {
  // Seeded, so that a failure repeats; three fields at a time, anywhere in the export.
  let seed = 20261205;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  const paths: (string | number)[][] = [];
  const walk = (value: unknown, at: (string | number)[]) => {
    if (at.length) paths.push(at);
    if (value && typeof value === 'object') for (const [key, inner] of Object.entries(value)) walk(inner, [...at, Array.isArray(value) ? Number(key) : key]);
  };
  walk(fixture, []);
  const values = [null, 42, -1, 1e308, 'x', '', '**********', '${X}', 'a'.repeat(3000), true, false, [], {}, [1], ['a'], { a: 1 },
    '{"value":1,"salt":null}', '{"hashIterations":1e308,"algorithm":"argon2","additionalParameters":{"memory":["x"]}}', '{"algorithm":"pbkdf2"}'];
  const surprises: string[] = [];
  for (let round = 0; round < 400; round += 1) {
    const copy = structuredClone(fixture);
    const changedAt: string[] = [];
    for (let n = 0; n < 3; n += 1) {
      const at = paths[Math.floor(random() * paths.length)]!;
      let parent: any = copy;
      for (const key of at.slice(0, -1)) parent = parent && typeof parent === 'object' ? parent[key] : undefined;
      if (!parent || typeof parent !== 'object') continue;
      parent[at.at(-1)!] = values[Math.floor(random() * values.length)];
      changedAt.push(at.join('.'));
    }
    const outcome = await load(copy).then(() => 'setup', (error: unknown) => (error instanceof ConfigError ? 'refused' : `${(error as Error).name}: ${(error as Error).message}`));
    if (outcome !== 'setup' && outcome !== 'refused') surprises.push(`${changedAt.join(', ')} → ${outcome}`);
  }
  t.same(surprises, []);
});
