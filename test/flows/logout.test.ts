import t from 'tap';
import * as oidc from 'openid-client';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';

const { issuer } = await startLatchkey(t);

/** Submits the confirmation form oidc-provider embeds in our logout page. */
async function confirmLogout(browser: Awaited<ReturnType<typeof codeFlow>>['browser'], page: string) {
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(page)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)?.[1];
  if (!action || !xsrf) throw new Error(`no logout form in: ${page.slice(0, 500)}`);
  return browser.request(action.replace(/&amp;/g, '&'), { method: 'POST', form: { xsrf, logout: 'yes' } });
}

t.test('RP-initiated logout: confirmation page, redirect to the registered URI, session gone', async (t) => {
  const { tokens, browser, config } = await codeFlow(issuer);
  const sessionCookie = browser.jar.get('_session');
  t.ok(sessionCookie, 'signed in: a session cookie exists');

  const endSession = oidc.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token!,
    post_logout_redirect_uri: 'https://app.test/bye',
    state: 'bye-state',
  });
  const confirm = await browser.request(endSession.href);
  t.equal(confirm.status, 200);
  const page = await confirm.text();
  t.match(page, /Sign out/);
  t.match(confirm.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);

  const done = await confirmLogout(browser, page);
  t.equal(done.status, 303);
  const location = new URL(done.headers.get('location')!);
  t.equal(`${location.origin}${location.pathname}`, 'https://app.test/bye');
  t.equal(location.searchParams.get('state'), 'bye-state');
  t.notOk(browser.jar.get('_session'), 'session cookie cleared');

  // Case 70: replaying the old session cookie does not sign anyone in.
  const replay = new (browser.constructor as typeof import('../helpers/browserless.ts').Browser)(issuer);
  replay.jar.set('_session', sessionCookie!);
  for (const name of browser.jar.names()) if (name.startsWith('_session.')) replay.jar.set(name, browser.jar.get(name)!);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://app.test/cb', scope: 'openid', prompt: 'none',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const { url: landed } = await replay.follow(url.href);
  t.equal(new URL(landed).searchParams.get('error'), 'login_required', 'old session cookie is dead');
});

t.test('logout without post_logout_redirect_uri ends on our signed-out page', async (t) => {
  const { tokens, browser, config } = await codeFlow(issuer);
  const page = await (await browser.request(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token! }).href)).text();
  const done = await confirmLogout(browser, page);
  const { response } = await browser.follow(done.headers.get('location')!);
  t.equal(response.status, 200);
  t.match(await response.text(), /You have signed out/);
});

t.test('an unregistered post_logout_redirect_uri is never followed (case 16)', async (t) => {
  const { tokens, browser, config } = await codeFlow(issuer);
  const res = await browser.request(oidc.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://evil.test/',
  }).href);
  t.equal(res.headers.get('location'), null);
  t.equal(res.status, 400);
});
