import path from 'node:path';
import t from 'tap';
import { readEnv } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';

const cwd = '/srv/latchkey';

t.test('defaults: port 3000, embedded database, files under the working directory', async (t) => {
  const settings = readEnv({}, cwd);
  t.equal(settings.nodeEnv, 'development');
  t.equal(settings.port, 3000);
  t.equal(settings.issuer, 'http://localhost:3000');
  t.equal(settings.databaseUrl, undefined);
  t.equal(settings.dataDir, path.join(cwd, 'data'));
  t.equal(settings.keysDir, path.join(cwd, 'keys'));
  t.equal(settings.configFile, path.join(cwd, 'config/latchkey.yaml'));
  t.equal(settings.configFileExplicit, false);
  t.equal(settings.trustProxy, false);
  t.equal(settings.logLevel, 'info');
  t.equal(settings.cookieKeys, undefined);
});

t.test('values are read and normalised', async (t) => {
  const settings = readEnv({
    PORT: '8443', LATCHKEY_ISSUER: 'https://id.example.com/', NODE_ENV: 'production',
    DATABASE_URL: 'postgres://u:p@db/latchkey', LATCHKEY_TRUST_PROXY: 'true', LOG_LEVEL: 'warn',
    LATCHKEY_COOKIE_KEYS: `${'a'.repeat(32)}, ${'b'.repeat(40)}`, LATCHKEY_CONFIG: 'etc/prod.yaml',
  }, cwd);
  t.equal(settings.port, 8443);
  t.equal(settings.issuer, 'https://id.example.com', 'trailing slash removed');
  t.equal(settings.databaseUrl, 'postgres://u:p@db/latchkey');
  t.equal(settings.trustProxy, true);
  t.same(settings.cookieKeys, ['a'.repeat(32), 'b'.repeat(40)]);
  t.equal(settings.configFile, path.join(cwd, 'etc/prod.yaml'));
  t.equal(settings.configFileExplicit, true);
});

const refusals: [Record<string, string>, string, RegExp][] = [
  [{ PORT: '0' }, 'PORT', /whole number/],
  [{ PORT: '3000abc' }, 'PORT', /whole number/],
  [{ PORT: '70000' }, 'PORT', /whole number/],
  [{ NODE_ENV: 'staging' }, 'NODE_ENV', /one of development, production, test/],
  [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL', /one of/],
  [{ LATCHKEY_TRUST_PROXY: 'maybe' }, 'LATCHKEY_TRUST_PROXY', /true or false/],
  [{ LATCHKEY_ISSUER: 'not a url' }, 'LATCHKEY_ISSUER', /absolute URL/],
  [{ LATCHKEY_ISSUER: 'ftp://id.example.com' }, 'LATCHKEY_ISSUER', /https/],
  [{ LATCHKEY_ISSUER: 'https://id.example.com/?x=1' }, 'LATCHKEY_ISSUER', /query or fragment/],
  [{ LATCHKEY_ISSUER: 'https://id.example.com/#x' }, 'LATCHKEY_ISSUER', /query or fragment/],
  [{ LATCHKEY_ISSUER: 'http://id.example.com', NODE_ENV: 'production' }, 'LATCHKEY_ISSUER', /https .*production/],
  [{ DATABASE_URL: 'mysql://root:hunter2@db/x' }, 'DATABASE_URL', /postgres/],
  [{ LATCHKEY_COOKIE_KEYS: 'short-key' }, 'LATCHKEY_COOKIE_KEYS', /32 characters/],
  [{ DATABASE_POOL_MAX: '0' }, 'DATABASE_POOL_MAX', /whole number/],
  [{ DATABASE_CONNECT_TIMEOUT_MS: '-1' }, 'DATABASE_CONNECT_TIMEOUT_MS', /whole number/],
  [{ LATCHKEY_AUDIT: 'sometimes' }, 'LATCHKEY_AUDIT', /on or off/],
  [{ LATCHKEY_AUDIT_RETENTION_DAYS: '0' }, 'LATCHKEY_AUDIT_RETENTION_DAYS', /whole number/],
];

t.test('audit events: on, 90 days, unless told', async (t) => {
  t.same(readEnv({}, cwd).audit, { enabled: true, retentionDays: 90 });
  t.same(readEnv({ LATCHKEY_AUDIT: 'off', LATCHKEY_AUDIT_RETENTION_DAYS: '7' }, cwd).audit, { enabled: false, retentionDays: 7 });
  t.equal(readEnv({ LATCHKEY_AUDIT: 'ON' }, cwd).audit.enabled, true);
});

for (const [env, variable, problem] of refusals) {
  t.test(`${variable}=${Object.values(env)[0]} is refused, naming the variable`, async (t) => {
    const error = t.throws(() => readEnv(env, cwd)) as ConfigError;
    t.type(error, ConfigError);
    t.equal(error.field, variable);
    t.match(error.message, new RegExp(`^${variable}: `));
    t.match(error.message, problem);
  });
}

t.test('a refused DATABASE_URL or cookie key is not echoed', async (t) => {
  const db = t.throws(() => readEnv({ DATABASE_URL: 'mysql://root:hunter2@db/x' }, cwd)) as Error;
  t.notMatch(db.message, /hunter2/);
  const keys = t.throws(() => readEnv({ LATCHKEY_COOKIE_KEYS: 'secret-cookie-key' }, cwd)) as Error;
  t.notMatch(keys.message, /secret-cookie-key/);
});

t.test('http on loopback is accepted in production (a local proxy terminates TLS)', async (t) => {
  t.equal(readEnv({ NODE_ENV: 'production', LATCHKEY_ISSUER: 'http://localhost:3000' }, cwd).issuer, 'http://localhost:3000');
});
