import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as jose from 'jose';
import t, { type Test } from 'tap';
import type { DeclarativeSetup } from '../../src/config/index.ts';
import { assembleLatchkey, type Latchkey } from '../../src/latchkey.ts';
import { createLogger } from '../../src/log/logger.ts';
import { runLatchkey } from '../cli/cli-sandbox.ts';
import { freePort, migrate, testConfig } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { demoSetup, SECRETS } from '../helpers/setups.ts';
import { seedEmbeddedDataDir } from '../helpers/embedded-images.ts';
import { createTestDatabase } from '../helpers/test-database.ts';
import { introspect, tokenRequest } from '../helpers/token-requests.ts';
import { until, waitFor } from '../helpers/waiting.ts';

// Issue 3: tokens outlive a restart (the keys persist), and staged rotation
// publishes a new key before it signs and keeps the old one published until
// the tokens it signed have expired, driven by `latchkey keys rotate`.

const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-keys-restart-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const keysDir = path.join(dir, 'keys');
const database = await createTestDatabase();
t.teardown(() => database.drop());
if (database.databaseUrl) await migrate(database.databaseUrl);
else await seedEmbeddedDataDir(path.join(dir, 'data'));

// The shortest schedule the configuration allows: keys re-read every second,
// a JWKS cached for a second, and the shortest lifetimes of the tokens a key
// signs, ID tokens and (JWT) access tokens (the old key stays published until
// the last token it signed has expired).
const SIGNED_TTL = { id_token: 1, access_token: 1, client_credentials: 1 };
const FAST_KEYS = { LATCHKEY_KEY_CHECK_SECONDS: '1', LATCHKEY_JWKS_MAX_AGE_SECONDS: '1', LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS: '2' };

/** A server on the same keys and the same (persistent) database each time. */
async function start(t: Test, setup: DeclarativeSetup = demoSetup()): Promise<{ issuer: string; latchkey: Latchkey }> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const config = testConfig({ issuer, port, keysDir, dataDir: path.join(dir, 'data'), databaseUrl: database.databaseUrl, setup, logLevel: 'silent', env: FAST_KEYS });
  const latchkey = await assembleLatchkey(config, createLogger('silent'));
  await latchkey.app.listen({ port, host: '127.0.0.1' });
  let closed = false;
  const close = async () => { if (!closed) { closed = true; await latchkey.close(); } };
  t.teardown(close);
  return { issuer, latchkey: { ...latchkey, close } };
}

const kidOf = (jwt: string) => jose.decodeProtectedHeader(jwt).kid!;
async function publishedKids(issuer: string): Promise<string[]> {
  return ((await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}
async function verifies(issuer: string, idToken: string): Promise<boolean> {
  const jwks = jose.createLocalJWKSet(await (await fetch(`${issuer}/jwks`)).json() as jose.JSONWebKeySet);
  // The token's own expiry is not the point here: only whether its key is published.
  return jose.jwtVerify(idToken, jwks, { currentDate: new Date(jose.decodeJwt(idToken).iat! * 1000) }).then(() => true, () => false);
}
async function idToken(issuer: string): Promise<string> {
  return (await codeFlow(issuer, { scope: 'openid' })).tokens.id_token!;
}

t.test('tokens issued before a restart verify and introspect after it', async (t) => {
  const first = await start(t);
  const token = await idToken(first.issuer);
  const service = await tokenRequest(first.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  const accessToken = String(service.json?.['access_token']);
  const kidsBefore = await publishedKids(first.issuer);
  await first.latchkey.close();

  const second = await start(t);
  t.same(await publishedKids(second.issuer), kidsBefore, 'the same keys, the same kids');
  const jwks = jose.createLocalJWKSet(await (await fetch(`${second.issuer}/jwks`)).json() as jose.JSONWebKeySet);
  const { payload } = await jose.jwtVerify(token, jwks, { issuer: first.issuer, audience: 'web1' });
  t.ok(payload.sub, 'the ID token from before the restart verifies against the JWKS after it');
  t.equal((await introspect(second.issuer, accessToken, ['rs', SECRETS.rs])).json?.['active'], true, 'the opaque token from before still introspects active');
  await second.latchkey.close();
});

t.test('staged rotation: published first, signs later, retired key kept until its tokens expired', async (t) => {
  const { issuer } = await start(t, demoSetup({ ttl: SIGNED_TTL }));
  const before = await idToken(issuer);
  const oldKid = kidOf(before);
  await writeFile(path.join(dir, 'setup.yaml'), JSON.stringify({ realms: [{ name: 'default', ttl: SIGNED_TTL }] }));
  // Eight seconds before the new key signs: time enough, on a busy machine
  // (a code flow with argon2id can take seconds there), to see the server
  // publish it (within a second) and still sign with the old one.
  const rotated = await runLatchkey(['keys', 'rotate', '--alg', 'RS256'], {
    env: {
      PATH: process.env.PATH, NODE_ENV: 'test', LATCHKEY_KEYS_DIR: keysDir, LATCHKEY_DATA_DIR: path.join(dir, 'cli-data'),
      LATCHKEY_CONFIG: path.join(dir, 'setup.yaml'), LATCHKEY_KEY_CHECK_SECONDS: '1', LATCHKEY_JWKS_MAX_AGE_SECONDS: '1',
      LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS: '8',
      // The server's database, where the CLI reads lifetimes, when it can open it (not the server's embedded one).
      ...(database.databaseUrl ? { DATABASE_URL: database.databaseUrl } : {}),
    },
  });
  t.equal(rotated.status, 0, `rotate: ${rotated.stderr}`);
  const schedule = /RS256: (\S+) is published now and signs from (\S+); \S+ retires then and is unpublished at (\S+)\./.exec(rotated.stdout);
  t.ok(schedule, `rotate names the new kid and its schedule: ${rotated.stdout}`);
  const [, newKid, activatesAt, droppedAt] = schedule ?? [];

  // The server notices within LATCHKEY_KEY_CHECK_SECONDS.
  t.ok(await waitFor(async () => (await publishedKids(issuer)).includes(newKid!)), 'during the overlap the new key is published');
  t.ok((await publishedKids(issuer)).includes(oldKid), 'and the old one too');
  t.equal(kidOf(await idToken(issuer)), oldKid, 'but the old key still signs');

  // The schedule runs on the server's own clock (Date.now() in src/keys), which
  // no test can move: wait until the activation time, then for the server to notice.
  await until(Date.parse(activatesAt!));
  const after = await waitFor(async () => {
    const token = await idToken(issuer);
    return kidOf(token) === newKid ? token : undefined;
  }, { intervalMs: 100 });
  t.ok(after, 'new tokens carry the new kid');
  t.ok(await verifies(issuer, before), 'a token signed with the old key still verifies');
  t.ok(after && await verifies(issuer, after), 'and one signed with the new key');

  // drop_at = activation + check (1 s) + longest token lifetime (1 s) + JWKS max-age (1 s), as rotate printed it.
  await until(Date.parse(droppedAt!));
  const kids = await waitFor(async () => {
    const published = await publishedKids(issuer);
    return published.includes(oldKid) ? undefined : published;
  });
  t.ok(kids, 'after its tokens expired the old key is no longer published');
  t.ok(kids?.includes(newKid!));
  t.notOk(await verifies(issuer, before), 'so its tokens no longer verify');

  const listed = await runLatchkey(['keys', 'list', '--json'], { env: { PATH: process.env.PATH, NODE_ENV: 'test', LATCHKEY_KEYS_DIR: keysDir, LATCHKEY_CONFIG: path.join(dir, 'setup.yaml') } });
  const keys = JSON.parse(listed.stdout) as { kid: string; status: string; signs: boolean; fingerprint: string }[];
  t.match(keys.find((k) => k.kid === oldKid), { status: 'expired', signs: false });
  t.match(keys.find((k) => k.kid === newKid), { status: 'active', signs: true });
  t.notMatch(listed.stdout, /"d"|PRIVATE KEY/, 'no private material listed');
});
