import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as oidc from 'openid-client';
import t from 'tap';
import { writeNewKey } from '../../src/keys/signing-keys.ts';
import { assembleLatchkey } from '../../src/latchkey.ts';
import { createLogger } from '../../src/log/logger.ts';
import { freePort, migrate, testConfig } from '../helpers/latchkey-under-test.ts';
import { discover } from '../helpers/relying-party.ts';
import { demoSetup, SECRETS } from '../helpers/setups.ts';
import { emptyImage } from '../helpers/embedded-images.ts';
import { createTestDatabase } from '../helpers/test-database.ts';
import { waitFor } from '../helpers/waiting.ts';
import { address, BrowserFrom, postFormFrom } from './from-address.ts';

// The brakes live as long as the process. A change in the keys folder makes
// the server build new providers (src/latchkey.ts, watchKeys); brakes made
// with a provider would start from zero after every rotation, giving an
// attacker a fresh budget each time a key is rotated.

const keysDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-brakes-rotation-'));
t.teardown(() => rm(keysDir, { recursive: true, force: true }));
const database = await createTestDatabase();
t.teardown(() => database.drop());
if (database.databaseUrl) await migrate(database.databaseUrl);

const port = await freePort();
const issuer = `http://127.0.0.1:${port}`;
const config = testConfig({ issuer, port, keysDir, databaseUrl: database.databaseUrl, setup: demoSetup(), logLevel: 'silent', env: { LATCHKEY_KEY_CHECK_SECONDS: '1' } });
const latchkey = await assembleLatchkey(config, createLogger('silent'), {
  inMemory: !database.databaseUrl,
  embeddedImage: database.databaseUrl ? undefined : await emptyImage(),
});
await latchkey.app.listen({ port, host: '127.0.0.1' });
t.teardown(() => latchkey.close());

const token = (from: string, clientId: string, secret: string) =>
  postFormFrom(from, `${issuer}/token`, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: [clientId, secret] });

async function signIn(from: string, login: string, password: string): Promise<number> {
  const browser = new BrowserFrom(issuer, from);
  const url = oidc.buildAuthorizationUrl(await discover(issuer, 'web1', SECRETS.web1), {
    redirect_uri: 'https://app.test/cb', scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const interaction = new URL((await browser.follow(url.href)).url).pathname;
  return (await browser.request(`${interaction}/login`, { method: 'POST', form: { login, password } })).status;
}

t.test('client and sign-in brakes hold across a key rotation', async (t) => {
  for (let i = 0; i < 10; i += 1) {
    await token(address(70), 'svc', `guess-${i}`);
    await token(address(70), 'no-such-client', `guess-${i}`);
    await signIn(address(71), 'alice', `guess-${i}`);
  }
  t.equal((await token(address(70), 'svc', 'guess')).status, 429, 'svc braked at address 70');
  t.equal((await token(address(70), 'no-such-client', 'guess')).status, 429, 'the unknown client id too');
  t.equal(await signIn(address(71), 'alice', SECRETS.alice), 429, 'alice braked at address 71');

  const before = latchkey.realms[0]!.provider;
  await writeNewKey(keysDir, 'signing-es384.pem', 'ES384');
  // The server re-reads the folder every second (LATCHKEY_KEY_CHECK_SECONDS=1); wait until it has swapped.
  await waitFor(() => latchkey.realms[0]!.provider !== before);
  t.not(latchkey.realms[0]!.provider, before, 'the key change replaced the provider');
  const jwks = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: { alg?: string }[] };
  t.ok(jwks.keys.some((k) => k.alg === 'ES384'), 'the new key is published');

  t.equal((await token(address(70), 'svc', 'guess')).status, 429, 'svc is still braked');
  t.equal((await token(address(70), 'no-such-client', 'guess')).status, 429, 'and the unknown client id');
  t.equal(await signIn(address(71), 'alice', SECRETS.alice), 429, 'and alice at address 71');
  t.equal((await token(address(72), 'svc', SECRETS.svc)).status, 200, 'control: svc from another address');
  t.equal(await signIn(address(72), 'alice', SECRETS.alice), 303, 'control: alice from another address');
});
