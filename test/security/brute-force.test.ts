import t from 'tap';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { discover } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';

const { issuer, latchkey } = await startLatchkey(t);
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
const token = (auth: string, headers: Record<string, string> = {}) => fetch(`${issuer}/token`, {
  method: 'POST',
  headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded', ...headers },
  body: 'grant_type=client_credentials&scope=api:read',
});

t.test('case 49: repeated wrong client secrets are braked with 429 + Retry-After', async (t) => {
  const statuses: number[] = [];
  for (let i = 0; i < 30; i += 1) statuses.push((await token(basic('svc', `wrong-${i}`))).status);
  t.same(statuses.slice(0, 10), Array(10).fill(401), 'the first ten failures are plain invalid_client');
  t.ok(statuses.slice(10).every((s) => s === 429), 'then 429');
  const braked = await token(basic('svc', SECRETS.svc));
  // svc's secret is a chosen one (argon2id) that this server has not verified yet; a generated
  // secret, or a chosen one verified lately, would pass (client-auth-uniform.test.ts).
  t.equal(braked.status, 429, 'even the right secret, not verified lately, waits out the window from that address');
  const retryAfter = Number(braked.headers.get('retry-after'));
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After within the window (${retryAfter})`);
  t.equal(((await braked.json()) as { error: string }).error, 'invalid_client');
});

t.test('the brake is per client: another client from the same address is unaffected', async (t) => {
  const config = await discover(issuer, 'rs', SECRETS.rs);
  const tokens = await oidc.clientCredentialsGrant(config, {});
  t.ok(tokens.access_token);
});

async function startLogin(browser: Browser): Promise<string> {
  const config = await discover(issuer, 'web1', SECRETS.web1);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://app.test/cb', scope: 'openid',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const { url: page } = await browser.follow(url.href);
  return new URL(page).pathname;
}

t.test('case 74: ten wrong passwords for alice → 429, one message for unknown users and wrong passwords', async (t) => {
  const browser = new Browser(issuer);
  const interaction = await startLogin(browser);
  const wrong = await browser.request(`${interaction}/login`, { method: 'POST', form: { login: 'alice', password: 'nope' } });
  const unknown = await browser.request(`${interaction}/login`, { method: 'POST', form: { login: 'nobody', password: 'nope' } });
  t.equal(wrong.status, 401);
  t.equal(unknown.status, 401);
  const message = (body: string) => /<p class="error"[^>]*>([^<]*)</.exec(body)?.[1];
  t.equal(message(await wrong.text()), message(await unknown.text()), 'no user enumeration');

  const statuses: number[] = [];
  for (let i = 0; i < 10; i += 1) {
    statuses.push((await browser.request(`${interaction}/login`, { method: 'POST', form: { login: 'alice', password: `nope-${i}` } })).status);
  }
  t.equal(statuses.at(-1), 429, 'braked after ten failures');
  const right = await browser.request(`${interaction}/login`, { method: 'POST', form: { login: 'alice', password: SECRETS.alice } });
  t.equal(right.status, 429, 'the right password waits too, from that address');
  t.ok(Number(right.headers.get('retry-after')) > 0);
  t.match(await right.text(), /Too many sign-in attempts/);
});

t.test('case 78: a 1 MB password is refused before argon2 runs; long unicode passwords work', async (t) => {
  const browser = new Browser(issuer);
  const interaction = await startLogin(browser);
  const huge = await browser.request(`${interaction}/login`, { method: 'POST', form: { login: 'bob', password: 'x'.repeat(1024 * 1024) } });
  t.ok([400, 413].includes(huge.status), `status ${huge.status}`);
  t.notMatch(await huge.text(), /at .*\.ts:\d+/, 'no stack trace');

  // Straight to the account service, which the sign-in brakes (HTTP layer) do not stand in front of.
  for (const password of ['p'.repeat(200), 'Ångström-ünïcödé-' + 'é'.normalize('NFD').repeat(40)]) {
    await latchkey.services.accounts.create('default', { username: `u${password.length}`, password });
    t.ok(await latchkey.services.accounts.authenticate('default', `u${password.length}`, password), 'accepted without truncation');
    t.notOk(await latchkey.services.accounts.authenticate('default', `u${password.length}`, password.slice(0, -1)), 'one character less fails');
  }
  const stored = await latchkey.services.accounts.findByUsername('default', 'u200');
  // The parameters in any order: argon2 releases have written them as m,t,p (PHC's order) and as m,p,t.
  const [, variant, version, parameters] = /^\$(\w+)\$v=(\d+)\$([^$]+)\$/.exec(stored!.password_hash) ?? [];
  t.same({ variant, version, parameters: Object.fromEntries((parameters ?? '').split(',').map((pair) => pair.split('='))) },
    { variant: 'argon2id', version: '19', parameters: { m: '19456', t: '2', p: '1' } }, 'case 79: argon2id at OWASP parameters');
});
