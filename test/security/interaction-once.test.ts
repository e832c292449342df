import * as oidc from 'openid-client';
import t from 'tap';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { discover } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';

// Issue 8, point 4: an interaction completes once. A double-submitted form
// or a browser that retries sends the same sign-in, consent or resume several
// times at once; however many arrive together, at most one authorization
// code and one Grant come out of them. Races are real on PostgreSQL (CI runs
// this file on both databases; the embedded one serialises statements).
const { issuer, latchkey } = await startLatchkey(t);
const db = latchkey.services.database.db;
const CONCURRENT = 8;

const count = async (model: string) => Number((await db.selectFrom('oidc_payloads')
  .select((eb) => eb.fn.countAll<string>().as('n'))
  .where('model', '=', model)
  .executeTakeFirstOrThrow()).n);

async function authorizationUrl(): Promise<string> {
  const config = await discover(issuer, 'web1', SECRETS.web1);
  return oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://app.test/cb',
    scope: 'openid profile offline_access',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
    state: oidc.randomState(),
  }).href;
}

/** Sends the same request `CONCURRENT` times at once from one browser (one cookie jar). */
const all = (send: () => Promise<Response>) => Promise.all(Array.from({ length: CONCURRENT }, send));

t.test('concurrent sign-ins, resumes and consents give one Grant and one code', async (t) => {
  const grantsBefore = await count('Grant');
  const codesBefore = await count('AuthorizationCode');
  const browser = new Browser(issuer);
  const { url: loginUrl } = await browser.follow(await authorizationUrl());
  const loginPath = new URL(loginUrl).pathname;

  const signIns = await all(() => browser.request(`${loginPath}/login`, { method: 'POST', form: { login: 'alice', password: SECRETS.alice } }));
  t.same(signIns.map((r) => r.status), Array(CONCURRENT).fill(303), 'every sign-in submission continues (303)');
  const resumeUrl = signIns[0]!.headers.get('location')!;
  t.ok(signIns.every((r) => r.headers.get('location') === resumeUrl), 'all to the same resume URL');

  const resumes = await all(() => browser.request(resumeUrl));
  const continued = resumes.filter((r) => r.status === 303);
  t.equal(continued.length, 1, 'exactly one resume goes on to the consent step');
  t.ok(resumes.filter((r) => r.status !== 303).every((r) => r.status === 400), 'the others get the session_not_found page (400)');
  const consentUrl = new URL(continued[0]!.headers.get('location')!, issuer);
  const consentPage = await browser.request(consentUrl.href);
  t.match(await consentPage.text(), /\/confirm"/, 'the consent page');

  const consents = await all(() => browser.request(`${consentUrl.pathname}/confirm`, { method: 'POST', form: {} }));
  t.same(consents.map((r) => r.status), Array(CONCURRENT).fill(303), 'every consent submission continues (303)');
  t.equal(await count('Grant'), grantsBefore + 1, 'one Grant was stored, not one per submission');

  const finalResume = consents[0]!.headers.get('location')!;
  const finals = await all(() => browser.request(finalResume));
  const toClient = finals.filter((r) => r.status === 303 && r.headers.get('location')?.startsWith('https://app.test/cb?code='));
  t.equal(toClient.length, 1, 'exactly one resume redirects to the client with a code');
  t.equal(await count('AuthorizationCode'), codesBefore + 1, 'one authorization code was stored');
});

t.test('a consent that fails for another reason does not use up the interaction', async (t) => {
  const browser = new Browser(issuer);
  const { url: loginUrl } = await browser.follow(await authorizationUrl());
  const { url: consentUrl } = await browser.follow(`${new URL(loginUrl).pathname}/login`, { method: 'POST', form: { login: 'alice', password: SECRETS.alice } });
  const consentPath = new URL(consentUrl).pathname;
  const crossSite = await browser.request(`${consentPath}/confirm`, { method: 'POST', form: {}, headers: { origin: 'https://evil.test' } });
  t.equal(crossSite.status, 403, 'a cross-site submission is refused');
  const { url } = await browser.follow(`${consentPath}/confirm`, { method: 'POST', form: {} });
  t.match(url, /^https:\/\/app\.test\/cb\?code=/, 'the real submission still completes');
});
