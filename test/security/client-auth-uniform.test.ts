import t, { type Test } from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { SECRETS } from '../helpers/setups.ts';
import type { ClientCredentials, OAuthResponse } from '../helpers/token-requests.ts';
import { address, postFormFrom } from './from-address.ts';

// Point 5 of the hardening issue (SECURITY-CATALOG 44, 49): client
// authentication tells nothing about which clients exist. An unknown client,
// a wrong generated secret ($hmac-sha256$, verified in microseconds), a wrong
// chosen secret (argon2id) and a secret sent to a client that takes none get
// the same answer, and the same brakes. Timing is compared in
// bench/client-auth-timing.ts, not here.
//
// Each test speaks from its own loopback address, so that the brakes of one
// test (keyed by address) never reach another.

const { issuer, latchkey } = await startLatchkey(t);
const SERVICE = {
  token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [],
  redirect_uris: [], post_logout_redirect_uris: [], scope: 'api:read',
};
const GENERATED: ClientCredentials = ['gen', await latchkey.services.clients.addWithGeneratedSecret('default', { client_id: 'gen', ...SERVICE })];
const CHOSEN_SECRET = 'svc2-chosen-secret-for-tests';
await latchkey.services.clients.put('default', { client_id: 'svc2', client_secret: CHOSEN_SECRET, ...SERVICE });

const GRANT = { grant_type: 'client_credentials', scope: 'api:read' };
const basic = (from: string, credentials: ClientCredentials) => postFormFrom(from, `${issuer}/token`, GRANT, { basic: credentials });
const post = (from: string, [clientId, secret]: ClientCredentials) =>
  postFormFrom(from, `${issuer}/token`, { ...GRANT, client_id: clientId, client_secret: secret });

/** The four ways to fail, each with a secret that is wrong for it. */
const FAILURES: Record<string, (n: number) => ClientCredentials> = {
  'unknown client': (n) => ['no-such-client', `guess-${n}`],
  'wrong generated secret': (n) => [GENERATED[0], `guess-${n}`],
  'wrong chosen secret': (n) => ['svc', `guess-${n}`],
  'secret sent to a public client': (n) => ['spa1', `guess-${n}`],
};

/** What a caller can see of an answer, but the Date. */
function visible(response: OAuthResponse): Record<string, string> {
  const headers = Object.fromEntries([...response.headers].filter(([name]) => !['date', 'retry-after', 'content-security-policy'].includes(name)));
  return { status: String(response.status), body: response.text, ...headers };
}

function sameAnswers(t: Test, answers: Record<string, OAuthResponse>): void {
  const [first, ...others] = Object.entries(answers);
  for (const [kind, response] of others) t.same(visible(response), visible(first![1]), `${kind}: the same answer as ${first![0]}`);
}

t.test('one answer for every failure, with client_secret_basic and client_secret_post', async (t) => {
  for (const [method, send] of [['client_secret_basic', basic], ['client_secret_post', post]] as const) {
    const answers: Record<string, OAuthResponse> = {};
    for (const [kind, credentials] of Object.entries(FAILURES)) answers[kind] = await send(address(2), credentials(0));
    t.equal(answers['unknown client']!.status, 401, `${method}: 401`);
    t.same(answers['unknown client']!.json, { error: 'invalid_client', error_description: 'client authentication failed' });
    sameAnswers(t, answers);
  }
  for (const endpoint of ['/token/introspection', '/token/revocation']) {
    const answers: Record<string, OAuthResponse> = {};
    for (const [kind, credentials] of Object.entries(FAILURES)) {
      answers[kind] = await postFormFrom(address(2), `${issuer}${endpoint}`, { token: 'x'.repeat(43) }, { basic: credentials(0) });
    }
    t.equal(answers['unknown client']!.status, 401, `${endpoint}: 401`);
    sameAnswers(t, answers);
  }
});

t.test('a client\'s redirect origins and branding do not show in a failed authentication', async (t) => {
  const html = { accept: 'text/html' };
  const unknown = await postFormFrom(address(2), `${issuer}/token`, GRANT, { basic: ['no-such-client', 'guess'], headers: html });
  const web1 = await postFormFrom(address(2), `${issuer}/token`, GRANT, { basic: ['web1', 'guess'], headers: html });
  t.equal(web1.status, 401);
  t.equal(web1.text, unknown.text, 'the same error page for a wrong secret of a web client (whose client_name is branded)');
  t.equal(web1.headers.get('content-security-policy'), unknown.headers.get('content-security-policy'), 'and the same CSP');

  // A secret sent to a client that takes none is refused by the engine
  // before Latchkey sees it, with the client attached (a public client's
  // existence is public anyway: the authorization endpoint tells).
  const spa = await postFormFrom(address(2), `${issuer}/token`, GRANT, { basic: ['spa1', 'guess'], headers: html });
  t.equal(spa.text, unknown.text, 'the same error page for a public client');
  t.equal(spa.headers.get('content-security-policy'), unknown.headers.get('content-security-policy'), 'the same CSP');
});

t.test('unknown client ids are braked exactly like known ones: 429 + Retry-After after ten failures', async (t) => {
  const braked: Record<string, OAuthResponse> = {};
  for (const [kind, credentials] of Object.entries(FAILURES)) {
    const statuses: number[] = [];
    for (let i = 1; i <= 11; i += 1) statuses.push((await basic(address(3), credentials(i))).status);
    t.same(statuses, [...Array(10).fill(401), 429], `${kind}: ten 401s, then 429`);
    braked[kind] = await basic(address(3), credentials(99));
    const retryAfter = Number(braked[kind].headers.get('retry-after'));
    t.ok(retryAfter > 0 && retryAfter <= 60, `${kind}: Retry-After within the one-minute window (${retryAfter})`);
  }
  t.same(braked['unknown client']!.json, { error: 'invalid_client', error_description: 'too many failed client authentication attempts; retry later' });
  t.equal(braked['unknown client']!.headers.get('www-authenticate'), null, 'no Basic challenge on a 429');
  sameAnswers(t, braked);

  const elsewhere = await basic(address(4), FAILURES['unknown client']!(1));
  t.equal(elsewhere.status, 401, 'the same unknown client id from another address is not braked');
});

t.test('a correct generated secret is never refused, even while its (client, address) is braked', async (t) => {
  for (let i = 0; i < 10; i += 1) await basic(address(5), [GENERATED[0], `guess-${i}`]);
  t.equal((await basic(address(5), [GENERATED[0], 'guess'])).status, 429, 'braked');
  t.equal((await basic(address(5), GENERATED)).status, 200, 'the right secret gets its token');
  t.equal((await post(address(5), GENERATED)).status, 200, 'with client_secret_post too');
});

t.test('a chosen secret: braked from the failing address only; a recently verified one passes', async (t) => {
  t.equal((await basic(address(6), ['svc', SECRETS.svc])).status, 200, 'svc authenticates (and is now verified)');
  for (let i = 0; i < 10; i += 1) {
    await basic(address(6), ['svc', `guess-${i}`]);
    await basic(address(6), ['svc2', `guess-${i}`]);
  }
  t.equal((await basic(address(6), ['svc', 'guess'])).status, 429, 'svc is braked from there');
  t.equal((await basic(address(6), ['svc', SECRETS.svc])).status, 200, 'yet its secret, verified moments ago, still works');
  t.equal((await basic(address(6), ['svc2', CHOSEN_SECRET])).status, 429, 'svc2\'s secret, not verified lately, waits at the failing address');
  t.equal((await basic(address(7), ['svc2', CHOSEN_SECRET])).status, 200, 'but works from any other address');
});

t.test('an address failing for many client ids is braked after 100, other addresses are not', async (t) => {
  const ids = Array.from({ length: 100 }, (_, i) => `sprayed-${i}`);
  const statuses: number[] = [];
  for (let i = 0; i < ids.length; i += 4) {
    statuses.push(...await Promise.all(ids.slice(i, i + 4).map(async (id) => (await post(address(8), [id, 'Winter2026!'])).status)));
  }
  t.same(statuses, Array(100).fill(401), 'one chosen secret tried on 100 client ids: 100 plain failures');
  const next = await post(address(8), ['svc2', 'Winter2026!']);
  t.equal(next.status, 429, 'the 101st failure from that address waits, whatever the client');
  t.ok(Number(next.headers.get('retry-after')) > 0);
  t.equal((await post(address(9), ['sprayed-0', 'Winter2026!'])).status, 401, 'another address is not braked');
});

t.test('concurrent guesses are braked like a sequence, for known and unknown clients alike', async (t) => {
  for (const [n, id] of [[10, 'no-such-client'], [11, 'svc']] as const) {
    const statuses = await Promise.all(Array.from({ length: 20 }, (_, i) => basic(address(n), [id, `burst-${i}`]).then((r) => r.status)));
    t.same(statuses.toSorted(), [...Array(10).fill(401), ...Array(10).fill(429)], `${id}: ten checked, ten braked`);
  }
  const same = await Promise.all(Array.from({ length: 20 }, () => basic(address(12), ['svc2', CHOSEN_SECRET]).then((r) => r.status)));
  t.same(same, Array(20).fill(200), 'twenty workers starting at once with a correct chosen secret all get tokens');
});
