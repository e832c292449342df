import * as oidc from 'openid-client';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { discover } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';
import { address, BrowserFrom } from './from-address.ts';

// Point 6 of the hardening issue (SECURITY-CATALOG 74, 75; ASVS 2.2.1,
// 6.1.1): sign-in brakes count per account, whatever spelling of it was
// typed, and an attacker cannot keep the real user from signing in from an
// address that has not failed. Each test speaks from its own loopback
// addresses, so that one test's brakes never reach another.

const { issuer, latchkey } = await startLatchkey(t);
const web1 = await discover(issuer, 'web1', SECRETS.web1);
// alice's budget is the attack test's; the spelling test has an account of its own.
const BOB = 'bob-password-for-tests';
await latchkey.services.accounts.create('default', { username: 'bob', password: BOB, email: 'bob@example.test' });

const SIGNED_IN = 303;
const WRONG = 401;
const BRAKED = 429;

/** A sign-in page opened by a browser at `from`; `submit` posts its form and returns the status. */
async function signInPage(from: string): Promise<{ submit(login: string, password: string): Promise<number> }> {
  const browser = new BrowserFrom(issuer, from);
  const url = oidc.buildAuthorizationUrl(web1, {
    redirect_uri: 'https://app.test/cb', scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const interaction = new URL((await browser.follow(url.href)).url).pathname;
  return {
    async submit(login, password) {
      return (await browser.request(`${interaction}/login`, { method: 'POST', form: { login, password } })).status;
    },
  };
}

async function failures(from: string, logins: readonly string[]): Promise<number[]> {
  const page = await signInPage(from);
  const statuses: number[] = [];
  for (const [i, login] of logins.entries()) statuses.push(await page.submit(login, `wrong-${i}`));
  return statuses;
}

t.test('every spelling of an account shares one budget', async (t) => {
  const spellings = ['bob', 'BOB', ' bob ', 'bob@example.test', ' Bob@Example.TEST'];
  t.same(await failures(address(20), [...spellings, ...spellings]), Array(10).fill(WRONG), 'ten failures, two per spelling');
  const page = await signInPage(address(20));
  for (const login of spellings) t.equal(await page.submit(login, BOB), BRAKED, `"${login}" waits`);
  t.equal(await (await signInPage(address(21))).submit('bob', BOB), SIGNED_IN, 'bob signs in from another address');

  const unknown = ['nobody', ' NOBODY', 'Nobody '];
  t.same(await failures(address(22), [...unknown, ...unknown, ...unknown, 'nobody']), Array(10).fill(WRONG), 'an unknown login, spelled three ways');
  const after = await signInPage(address(22));
  t.equal(await after.submit('noBODY', 'x'), BRAKED, 'braked by its normalised text, as a known account would be');
  t.equal(await after.submit('somebody', 'x'), WRONG, 'another login from that address is not');
});

t.test('an attacker past every limit from some addresses does not stop alice signing in from another', async (t) => {
  // Ten addresses, ten failures each for alice: 100, her budget for the hour.
  // The first of them also sprays 40 made-up logins, its own 50 per 15 minutes.
  const attackers = Array.from({ length: 10 }, (_, i) => address(30 + i));
  const rounds = await Promise.all(attackers.map((from) => failures(from, Array(10).fill('alice'))));
  t.same(rounds.flat(), Array(100).fill(WRONG), '100 plain failures for alice');
  t.same(await failures(attackers[0]!, Array.from({ length: 40 }, (_, i) => `user-${i}`)), Array(40).fill(WRONG), 'and 40 sprayed from the first address');

  const attacker = await signInPage(attackers[0]!);
  t.equal(await attacker.submit('alice', SECRETS.alice), BRAKED, 'the attacking address waits, even with the right password');
  t.equal(await attacker.submit('user-99', 'x'), BRAKED, 'for every login');

  t.equal(await (await signInPage(address(41))).submit('alice', SECRETS.alice), SIGNED_IN, 'alice, from an address that has not failed, signs in');

  t.same(await failures(address(42), ['alice']), [WRONG], 'while her account is under attack, a typo at a fresh address…');
  t.equal(await (await signInPage(address(42))).submit('alice', SECRETS.alice), BRAKED, '…brakes that address for her account');
  t.equal(await (await signInPage(address(43))).submit('ALICE@example.test', SECRETS.alice), SIGNED_IN, 'and still not the next fresh one');
});

t.test('one password sprayed over many logins from one address: braked after 50 (catalog 75)', async (t) => {
  const logins = Array.from({ length: 50 }, (_, i) => `sprayed-${i}`);
  t.same(await failures(address(50), logins), Array(50).fill(WRONG), '50 logins, one failure each');
  const page = await signInPage(address(50));
  t.equal(await page.submit('sprayed-50', 'Winter2026!'), BRAKED, 'the 51st login from that address waits');
  t.equal(await page.submit('alice', SECRETS.alice), BRAKED, 'whoever signs in from it');
  t.equal(await (await signInPage(address(51))).submit('sprayed-0', 'Winter2026!'), WRONG, 'another address is not braked');
});

t.test('concurrent guesses are braked like a sequence', async (t) => {
  const page = await signInPage(address(60));
  const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => page.submit('carol', `burst-${i}`)));
  t.same(statuses.toSorted(), [...Array(10).fill(WRONG), ...Array(10).fill(BRAKED)], 'twenty at once: ten checked, ten braked');
});
