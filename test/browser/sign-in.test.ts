import * as oidc from 'openid-client';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import type { DeclarativeSetup } from '../../src/config/index.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { discover } from '../helpers/relying-party.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import { chromiumMissing, launchChromium, screenshot, serveTestImages, watchedPage, type Watched } from './chromium.ts';
import { upsertClient } from '../../src/store/client.repository.ts';

// These run inside the page (Playwright's evaluate), where the DOM exists;
// the project's TypeScript has no DOM library, so they are declared here.
declare const document: { activeElement: { id: string; textContent: string | null } | null };
declare function getComputedStyle(element: unknown): { backgroundColor: string; backgroundImage: string };

// Issue 4 in a real browser: the sign-in, consent, logout and error pages,
// branded per client, driven by Debian's Chromium with an openid-client
// relying party on the other end; XSS cases 80–85, framing, accessibility.

const missing = chromiumMissing();
if (missing) {
  t.plan(0, missing);
} else {
  await run();
}

function withBrandedClients(): DeclarativeSetup {
  const setup = demoSetupDocument();
  const web = (id: string, extra: Record<string, unknown>) => ({
    client_id: id,
    client_secret: `${id}-secret-for-tests`,
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`https://${id}.test/cb`],
    post_logout_redirect_uris: [`https://${id}.test/bye`],
    scope: 'openid profile email offline_access',
    ...extra,
  });
  setup.realms[0]!.clients!.push(
    web('acme', { client_name: 'Acme Orders', logo_uri: 'https://cdn.acme.test/logo.svg', background_uri: 'https://cdn.acme.test/background.svg', primary_color: '#d9480f', policy_uri: 'https://acme.test/privacy', tos_uri: 'https://acme.test/terms' }),
    web('globex', { client_name: 'Globex Portal', logo_uri: 'https://cdn.globex.test/logo.svg', background_uri: 'https://cdn.globex.test/background.svg', primary_color: '#2b8a3e' }),
    web('xss1', { client_name: '<script>alert(1)</script>' }),
    web('xss2', { client_name: '"><img src=x onerror=alert(1)>' }),
  );
  return parseSetup(setup);
}

async function run(): Promise<void> {
  const server = await startLatchkey(t, { setup: withBrandedClients() });
  const { issuer, latchkey } = server;
  // Case 82/83: bad values that reached the database some other way (an older
  // version, a manual UPDATE) are never rendered.
  // Written past the client rules, straight into the table, as such data would have arrived.
  await upsertClient(latchkey.services.database.db, 'default', 'legacy', {
    client_name: 'Legacy App',
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: ['https://legacy.test/cb'],
    post_logout_redirect_uris: [],
    background_uri: 'https://x/a.png);}</style><script>alert(1)</script>',
    primary_color: 'red;background:url(https://evil.test/track)',
  }, await latchkey.services.hasher.hash('legacy-secret-for-tests'));
  const browser = await launchChromium(t);

  /** An authorization request for a client, and the callback URL the browser was sent to. */
  async function authorize(w: Watched, clientId: string, secret: string, redirectUri: string) {
    const config = await discover(issuer, clientId, secret);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri, scope: 'openid profile email', state,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const callback = captureCallback(w.page, redirectUri);
    await w.page.goto(url.href);
    return { config, verifier, state, callback };
  }

  /**
   * The client's redirect URI does not exist: answer it in the browser and hand its URL over once the
   * page has loaded it, so that a test's next navigation cannot interrupt the one still arriving.
   */
  function captureCallback(page: Page, redirectUri: string): Promise<URL> {
    const { origin } = new URL(redirectUri);
    return new Promise((resolve, reject) => {
      void page.context().route(`${origin}/**`, async (route) => {
        const url = new URL(route.request().url());
        await route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>client</title><p>back at the client</p>' });
        await page.waitForURL((loaded) => loaded.href === url.href).then(() => resolve(url), reject);
      });
    });
  }

  async function signIn(page: Page, login = 'alice', password: string = SECRETS.alice) {
    await page.getByLabel('Username or e-mail').fill(login);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  function clean(t: Test, w: Watched) {
    t.same(w.dialogs, [], 'no dialog fired');
    t.same(w.cspViolations, [], 'no CSP violation');
    t.same(w.pageErrors, [], 'no script error');
  }

  t.test('end to end: the relying party gets tokens after login and consent in the browser', async (t) => {
    const w = await watchedPage(browser);
    const { config, verifier, state, callback } = await authorize(w, 'web1', SECRETS.web1, 'https://app.test/cb');
    t.equal(await w.page.title(), 'Sign in to Web app web1');
    await screenshot(w.page, 'login-unbranded');
    await signIn(w.page);
    await w.page.getByRole('heading', { name: 'Allow access?' }).waitFor();
    t.ok(await w.page.getByText('See your e-mail address').isVisible(), 'scopes in plain words');
    await screenshot(w.page, 'consent-unbranded');
    await w.page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await oidc.authorizationCodeGrant(config, await callback, { pkceCodeVerifier: verifier, expectedState: state });
    t.ok(tokens.access_token, 'access token');
    const sub = tokens.claims()!.sub;
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, sub);
    t.equal(userinfo['email'], 'alice@example.test', 'userinfo: alice');
    clean(t, w);
    await w.context.close();
  });

  t.test('wrong credentials: one message for unknown user and wrong password, fields keep their labels', async (t) => {
    const w = await watchedPage(browser);
    await authorize(w, 'web1', SECRETS.web1, 'https://app.test/cb');
    await signIn(w.page, 'alice', 'not-her-password');
    const wrongPassword = await w.page.getByRole('alert').textContent();
    await signIn(w.page, 'nobody-at-all', 'whatever-password');
    const unknownUser = await w.page.getByRole('alert').textContent();
    t.equal(unknownUser, wrongPassword, 'the same text');
    t.equal(await w.page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
    clean(t, w);
    await w.context.close();
  });

  t.test('deny → access_denied at the client', async (t) => {
    const w = await watchedPage(browser);
    const { callback } = await authorize(w, 'web2', SECRETS.web2, 'https://app2.test/cb');
    await signIn(w.page);
    await w.page.getByRole('button', { name: 'Deny' }).click();
    const url = await callback;
    t.equal(url.searchParams.get('error'), 'access_denied');
    t.notOk(url.searchParams.get('code'));
    clean(t, w);
    await w.context.close();
  });

  t.test('logout: confirmation page for the client, then back to its post-logout URI', async (t) => {
    const w = await watchedPage(browser);
    await serveTestImages(w.context);
    const { config, verifier, state, callback } = await authorize(w, 'acme', 'acme-secret-for-tests', 'https://acme.test/cb');
    await signIn(w.page);
    await w.page.getByRole('button', { name: 'Allow' }).click();
    const tokens = await oidc.authorizationCodeGrant(config, await callback, { pkceCodeVerifier: verifier, expectedState: state });
    const bye = captureCallback(w.page, 'https://acme.test/bye');
    await w.page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: 'https://acme.test/bye' }).href);
    t.ok(await w.page.getByText('Do you want to sign out of Acme Orders').isVisible(), 'names the client');
    await screenshot(w.page, 'logout-branded-acme');
    await w.page.getByRole('button', { name: 'Sign out' }).click();
    t.equal((await bye).pathname, '/bye', 'sent to the registered post-logout URI');
    clean(t, w);
    await w.context.close();
  });

  t.test('two branded clients show their own name, logo, colour and background', async (t) => {
    for (const [clientId, name, color] of [['acme', 'Acme Orders', 'rgb(217, 72, 15)'], ['globex', 'Globex Portal', 'rgb(43, 138, 62)']] as const) {
      const w = await watchedPage(browser);
      await serveTestImages(w.context);
      const { callback } = await authorize(w, clientId, `${clientId}-secret-for-tests`, `https://${clientId}.test/cb`);
      t.equal(await w.page.title(), `Sign in to ${name}`);
      t.equal(await w.page.locator('.subtitle strong').textContent(), name);
      const logo = w.page.locator('img.logo');
      t.equal(await logo.getAttribute('src'), `https://cdn.${clientId}.test/logo.svg`);
      t.equal(await logo.getAttribute('alt'), `${name} logo`);
      t.ok(await logo.evaluate((img: { complete: boolean; naturalWidth: number }) => img.complete && img.naturalWidth > 0), 'the logo loaded');
      t.equal(await w.page.getByRole('button', { name: 'Sign in' }).evaluate((b) => getComputedStyle(b).backgroundColor), color, 'primary colour');
      t.match(await w.page.locator('body').evaluate((b) => getComputedStyle(b).backgroundImage), `cdn.${clientId}.test/background.svg`, 'background image');
      await screenshot(w.page, `login-branded-${clientId}`);
      await signIn(w.page);
      await w.page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      t.ok(await w.page.getByText(name, { exact: true }).first().isVisible(), 'consent names the client');
      await screenshot(w.page, `consent-branded-${clientId}`);
      if (clientId === 'acme') {
        t.equal(await w.page.getByRole('link', { name: 'Privacy policy' }).getAttribute('href'), 'https://acme.test/privacy');
        await w.page.setViewportSize({ width: 375, height: 740 });
        await screenshot(w.page, 'consent-branded-acme-phone');
      }
      await w.page.getByRole('button', { name: 'Allow' }).click();
      t.ok((await callback).searchParams.get('code'), 'and the flow completes');
      clean(t, w);
      await w.context.close();
    }
  });

  t.test('cases 80 and 81: hostile application names are text, not markup', async (t) => {
    for (const clientId of ['xss1', 'xss2']) {
      const w = await watchedPage(browser);
      await authorize(w, clientId, `${clientId}-secret-for-tests`, `https://${clientId}.test/cb`);
      t.equal(await w.page.locator('script').count(), 0, 'no script element');
      t.equal(await w.page.locator('img:not(.logo)').count(), 0, 'no injected img element');
      t.match(await w.page.locator('.app-name').textContent(), /alert\(1\)/, 'shown as text');
      await signIn(w.page);
      await w.page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      t.equal(await w.page.locator('script, img').count(), 0, 'consent page: nothing injected');
      await w.page.waitForTimeout(200);
      clean(t, w);
      await w.context.close();
    }
  });

  t.test('cases 82 and 83: bad branding already stored is not rendered', async (t) => {
    const w = await watchedPage(browser);
    await authorize(w, 'legacy', 'legacy-secret-for-tests', 'https://legacy.test/cb');
    t.equal(await w.page.title(), 'Sign in to Legacy App');
    t.equal(await w.page.locator('body').evaluate((b) => getComputedStyle(b).backgroundImage.includes('evil') || getComputedStyle(b).backgroundImage.includes('x/a.png')), false, 'no background from the bad URL');
    const css = await (await fetch(`${issuer}/branding.css?client_id=legacy`)).text();
    t.notMatch(css, /script|evil|url\(/, 'the branding stylesheet holds none of it');
    clean(t, w);
    await w.context.close();
  });

  t.test('case 85: error pages escape what they reflect', async (t) => {
    const w = await watchedPage(browser);
    const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
    const response = await w.page.goto(`${issuer}/auth?client_id=${encodeURIComponent(hostile)}&response_type=code&scope=openid&state=${encodeURIComponent(hostile)}&ui_locales=${encodeURIComponent(hostile)}&redirect_uri=https://evil.test/cb`);
    t.equal(response?.status(), 400, 'a 400 page');
    t.equal(new URL(w.page.url()).origin, issuer, 'not redirected anywhere');
    t.equal(await w.page.locator('script, img').count(), 0, 'nothing injected');
    await screenshot(w.page, 'error-unknown-client');
    const badRedirect = await w.page.goto(`${issuer}/auth?client_id=acme&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://evil.test/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`);
    t.equal(badRedirect?.status(), 400);
    t.ok(await w.page.getByText('return address that is not registered').isVisible(), 'explained to a person');
    t.equal(await w.page.locator('img.logo').getAttribute('alt'), 'Acme Orders logo', 'in the client\'s branding');
    clean(t, w);
    await w.context.close();
  });

  t.test('the login page cannot be framed', async (t) => {
    const w = await watchedPage(browser);
    await authorize(w, 'web1', SECRETS.web1, 'https://app.test/cb');
    const loginUrl = w.page.url();
    w.cspViolations.length = 0;
    await w.page.goto(`${issuer}/healthz`);
    await w.page.setContent(`<iframe id="f" src="${loginUrl}" width="600" height="600"></iframe>`);
    await w.page.waitForTimeout(1000);
    const frame = w.page.frames().find((f) => f !== w.page.mainFrame());
    const inside = frame ? await frame.locator('#login').count().catch(() => 0) : 0;
    t.equal(inside, 0, 'the form did not render inside the frame');
    t.ok(w.cspViolations.some((v) => /frame-ancestors/.test(v)), 'refused by frame-ancestors');
    await w.context.close();
  });

  t.test('accessibility basics: language, title, labels, focus order, no JavaScript needed', async (t) => {
    const w = await watchedPage(browser);
    await authorize(w, 'web1', SECRETS.web1, 'https://app.test/cb');
    t.equal(await w.page.locator('html').getAttribute('lang'), 'en');
    t.ok((await w.page.title()).length > 0);
    for (const input of await w.page.locator('input:not([type=hidden])').all()) {
      const id = await input.getAttribute('id');
      t.equal(await w.page.locator(`label[for="${id}"]`).count(), 1, `input #${id} has a label`);
    }
    t.equal(await w.page.evaluate(() => document.activeElement?.id), 'login', 'focus starts in the username field');
    const order: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      await w.page.keyboard.press('Tab');
      order.push(await w.page.evaluate(() => document.activeElement?.id || document.activeElement?.textContent?.trim() || ''));
    }
    t.same(order, ['password', 'Sign in', 'Cancel and go back'], 'Tab moves through the form in reading order');
    t.equal(await w.page.locator('script').count(), 0, 'no script on the page: works without JavaScript');
    await w.context.close();
  });
}
