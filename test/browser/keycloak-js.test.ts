import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import * as jose from 'jose';
import type { Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { freePort, startLatchkey } from '../helpers/latchkey-under-test.ts';
import { parseSetup, SECRETS } from '../helpers/setups.ts';
import { layoutsDocument } from '../layouts/layout-setups.ts';
import { chromiumMissing, launchChromium, watchedPage, type Watched } from './chromium.ts';

// Issue 11 in a real browser: keycloak-js 26, with all its defaults
// (onLoad login-required, PKCE S256, response_mode fragment, the
// third-party-cookie check and the login-status iframe every 5 s), on a page
// of its own origin, against realms in the keycloak layout with and without
// the /auth prefix. The pages it frames are src/http/keycloak-session-pages.ts.

// These run inside the page (Playwright's evaluate), where the DOM exists;
// the project's TypeScript has no DOM library, so they are declared here.
interface KeycloakInBrowser {
  token?: string;
  refreshToken?: string;
  sessionId?: string;
  authenticated?: boolean;
  updateToken(minValidity: number): Promise<boolean>;
  logout(): Promise<void>;
}
interface FrameInBrowser { src: string; contentWindow: { postMessage(message: string, origin: string): void } }
declare const window: {
  keycloak: KeycloakInBrowser;
  initialised?: Promise<{ authenticated?: boolean; error?: string }>;
  addEventListener(type: 'message', listener: (event: { source: unknown; data: unknown }) => void): void;
  removeEventListener(type: 'message', listener: (event: { source: unknown; data: unknown }) => void): void;
};
declare const document: { querySelector(selector: string): FrameInBrowser | null };

const CLIENT_ID = 'kcjs';
const THIRD_PARTY_FRAME = 'keycloak-3p-check-iframe';
const STATUS_FRAME = 'keycloak-session-iframe';

const missing = chromiumMissing();
if (missing) {
  t.plan(0, missing);
} else {
  await run();
}

/**
 * The relying party: its page (per realm, at /app/<realm>/) and keycloak-js's
 * own module from node_modules, served as they would be by any web server.
 * The page reports what the two keycloak-js iframes post to it through
 * `recordMessage` (exposed by the test).
 */
async function startRelyingParty(t: Test, port: number, latchkeyBase: string): Promise<void> {
  const library = await readFile(new URL(import.meta.resolve('keycloak-js')));
  const realms: Record<string, { url: string; realm: string }> = {
    ifs: { url: `${latchkeyBase}/auth`, realm: 'ifs' },
    kc: { url: latchkeyBase, realm: 'kc' },
  };
  const page = (config: { url: string; realm: string }) => `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>keycloak-js relying party</title></head>
<body><p>relying party</p>
<script type="module">
import Keycloak from '/keycloak-js/keycloak.js';
const frame = (title) => document.querySelector('iframe[title="' + title + '"]');
addEventListener('message', (event) => {
  for (const title of ['${THIRD_PARTY_FRAME}', '${STATUS_FRAME}']) {
    if (frame(title) && frame(title).contentWindow === event.source) window.recordMessage(title, String(event.data));
  }
});
window.keycloak = new Keycloak(${JSON.stringify({ ...config, clientId: CLIENT_ID })});
window.initialised = window.keycloak.init({ onLoad: 'login-required' }).then(
  (authenticated) => ({ authenticated }),
  (error) => ({ error: String(error && error.message || error) }));
</script></body></html>
`;
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://rp').pathname;
    const realm = /^\/app\/([a-z]+)\/$/.exec(path)?.[1];
    if (path === '/keycloak-js/keycloak.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(library);
    } else if (realm && realms[realm]) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(page(realms[realm]));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
}

/**
 * keycloak-js waits for its status iframe without a timeout (updateToken
 * awaits its answer): a hang guard, so that a silent iframe fails the test
 * with a reason instead of running into tap's timeout.
 */
function answered<T>(what: string, promise: Promise<T>, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const giveUp = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`no answer: ${what}`)), ms); });
  return Promise.race([promise, giveUp]).finally(() => clearTimeout(timer));
}

async function run(): Promise<void> {
  // The RP's port is known first: keycloak-js's redirect_uri is the page's own URL, registered exactly.
  const rpPort = await freePort();
  const rp = (realm: string, host = '127.0.0.1') => `http://${host}:${rpPort}/app/${realm}/`;
  const pages = [rp('ifs'), rp('kc'), rp('kc', 'localhost')];
  const setup = layoutsDocument();
  for (const realm of setup.realms.slice(0, 2)) {
    realm.clients!.push({
      client_id: CLIENT_ID, client_name: 'Keycloak JS app', application_type: 'web', token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      redirect_uris: pages, post_logout_redirect_uris: pages, scope: 'openid profile email',
    });
  }
  const { issuer: base } = await startLatchkey(t, { setup: parseSetup(setup), logLevel: 'silent' });
  const latchkeyOrigin = new URL(base).origin;
  await startRelyingParty(t, rpPort, base);
  const browser = await launchChromium(t);

  /**
   * A page whose context records what keycloak-js's iframes post to the RP
   * page, every URL the page shows (with its fragment) and every request the
   * page navigates with (redirects included).
   */
  async function relyingPartyPage() {
    const w = await watchedPage(browser);
    const messages: { frame: string; data: string }[] = [];
    const visited: string[] = [];
    const requested: string[] = [];
    await w.context.exposeFunction('recordMessage', (frame: string, data: string) => { messages.push({ frame, data }); });
    w.page.on('framenavigated', (frame) => { if (frame === w.page.mainFrame()) visited.push(frame.url()); });
    w.page.on('request', (request) => { if (request.isNavigationRequest() && request.frame() === w.page.mainFrame()) requested.push(request.url()); });
    const from = (frame: string) => messages.filter((m) => m.frame === frame).map((m) => m.data);
    return { ...w, messages, visited, requested, from };
  }

  async function signIn(page: Page, rpUrl: string) {
    await page.getByLabel('Username or e-mail').fill('alice');
    await page.getByLabel('Password').fill(SECRETS.alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const allow = page.getByRole('button', { name: 'Allow' });
    const backAtRp = (url: URL) => url.href.startsWith(rpUrl);
    await Promise.race([allow.waitFor().catch(() => {}), page.waitForURL(backAtRp).catch(() => {})]);
    if (!backAtRp(new URL(page.url()))) await allow.click();
    await page.waitForURL(backAtRp);
  }

  /** keycloak.init's outcome, once the RP page has run it. */
  async function initialised(page: Page) {
    await page.waitForFunction(() => window.initialised !== undefined);
    return page.evaluate(() => window.initialised!);
  }

  const tokens = (page: Page) => page.evaluate(() => ({ token: window.keycloak.token!, refreshToken: window.keycloak.refreshToken!, sessionId: window.keycloak.sessionId! }));

  /** Asks the status iframe ourselves, exactly as keycloak-js does: "<client_id> <sid>" to the iframe's origin. */
  const askStatusFrame = (page: Page) => answered('the status iframe', page.evaluate(({ title, clientId }) => new Promise<string>((resolve) => {
    const frame = document.querySelector(`iframe[title="${title}"]`)!;
    const listener = (event: { source: unknown; data: unknown }) => {
      if (event.source !== frame.contentWindow) return;
      window.removeEventListener('message', listener);
      resolve(String(event.data));
    };
    window.addEventListener('message', listener);
    frame.contentWindow.postMessage(`${clientId} ${window.keycloak.sessionId}`, new URL(frame.src).origin);
  }), { title: STATUS_FRAME, clientId: CLIENT_ID }));

  const updateToken = (page: Page) => answered('updateToken(-1)', page.evaluate(() => window.keycloak.updateToken(-1)));

  const statusFrameCount = (page: Page) => page.evaluate((title) => (document.querySelector(`iframe[title="${title}"]`) ? 1 : 0), STATUS_FRAME);

  async function assertVerifies(t: Test, token: string, issuer: string) {
    const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/protocol/openid-connect/certs`));
    const { payload } = await jose.jwtVerify(token, jwks, { issuer, audience: 'account' });
    t.match(payload, { typ: 'Bearer', azp: CLIENT_ID, preferred_username: 'alice' }, 'verifies against the realm\'s certs');
    return payload;
  }

  /** keycloak-js sent the page to Latchkey's sign-in; if it never does, the failure says what the iframes did. */
  const onLatchkeySignIn = async (w: Watched & { messages: unknown[] }) => {
    try {
      await w.page.waitForURL((url) => url.origin === latchkeyOrigin && url.pathname.includes('/interaction/'));
      await w.page.getByLabel('Username or e-mail').waitFor();
    } catch (error) {
      throw new Error(`never reached Latchkey's sign-in page; CSP: ${JSON.stringify(w.cspViolations)}; iframes said: ${JSON.stringify(w.messages)}`, { cause: error });
    }
  };

  function clean(t: Test, w: Watched) {
    t.same(w.dialogs, [], 'no dialog fired');
    t.same(w.cspViolations, [], 'no CSP violation');
    t.same(w.pageErrors, [], 'no script error');
  }

  t.test('/auth prefix: sign-in, tokens, refresh, the status iframe, a session ended elsewhere, logout', async (t) => {
    const issuer = `${base}/auth/realms/ifs`;
    const rpUrl = rp('ifs');
    const w = await relyingPartyPage();
    await w.page.goto(rpUrl);
    await onLatchkeySignIn(w);
    t.same(w.from(THIRD_PARTY_FRAME), ['supported'], 'the third-party-cookie check answered: supported (same site)');
    const authorize = new URL(w.requested.find((url) => url.includes('/protocol/openid-connect/auth'))!);
    t.match(Object.fromEntries(authorize.searchParams), { response_mode: 'fragment', response_type: 'code', code_challenge_method: 'S256', redirect_uri: rpUrl });

    await signIn(w.page, rpUrl);
    t.same(await initialised(w.page), { authenticated: true }, 'init resolved: authenticated');
    t.ok(w.visited.some((url) => url.startsWith(`${rpUrl}#`) && new URLSearchParams(new URL(url).hash.slice(1)).has('code')), 'the code came back in the fragment');
    t.equal(w.page.url(), rpUrl, 'keycloak-js took the fragment off');

    const first = await tokens(w.page);
    const claims = await assertVerifies(t, first.token, issuer);
    t.equal(first.sessionId, claims['sid'], 'keycloak-js keeps the token\'s sid as its session');
    t.equal(jose.decodeJwt(first.refreshToken)['typ'], 'Refresh');

    t.equal(await updateToken(w.page), true, 'updateToken(-1) refreshed');
    const second = await tokens(w.page);
    t.not(second.token, first.token, 'a new access token');
    t.not(second.refreshToken, first.refreshToken, 'a new refresh token');
    await assertVerifies(t, second.token, issuer);
    const checks = w.from(STATUS_FRAME);
    t.ok(checks.length >= 1 && checks.every((status) => status === 'unchanged'), `updateToken asked the status iframe first: ${checks.join(', ')}`);
    t.equal(await askStatusFrame(w.page), 'unchanged', 'asked directly: unchanged');

    // The session ends at Latchkey, in another tab: keycloak-js's next check (every 5 s) sees it and signs in again.
    const other = await w.context.newPage();
    await other.goto(`${issuer}/protocol/openid-connect/logout`);
    await other.getByRole('button', { name: 'Sign out' }).click();
    await other.getByText('You have signed out').waitFor();
    await onLatchkeySignIn(w);
    t.equal(w.from(STATUS_FRAME).at(-1), 'changed', 'the status iframe answered changed');
    t.notOk(w.from(STATUS_FRAME).includes('error'), 'never error');

    await signIn(w.page, rpUrl);
    t.same(await initialised(w.page), { authenticated: true }, 'signed in again');
    const third = await tokens(w.page);
    t.not(third.sessionId, first.sessionId, 'a new session');
    t.equal(await askStatusFrame(w.page), 'unchanged');

    // logout(): Latchkey's confirmation page, then back to the RP, which finds no session and sends the user to sign in.
    w.visited.length = 0;
    await w.page.evaluate(() => { void window.keycloak.logout(); });
    await w.page.getByText('Do you want to sign out of Keycloak JS app').waitFor();
    const logout = new URL(w.page.url());
    t.match(Object.fromEntries(logout.searchParams), { client_id: CLIENT_ID, post_logout_redirect_uri: rpUrl });
    t.ok(logout.searchParams.get('id_token_hint'), 'with the ID token as hint');
    await w.page.getByRole('button', { name: 'Sign out' }).click();
    await onLatchkeySignIn(w);
    t.ok(w.visited.includes(rpUrl), 'back at the RP after signing out');
    t.ok(w.visited.indexOf(rpUrl) < w.visited.length - 1, 'which had to send the user to sign in again');
    clean(t, w);
    await w.context.close();
  });

  t.test('no prefix: sign-in, token, refresh, status iframe, logout', async (t) => {
    const issuer = `${base}/realms/kc`;
    const rpUrl = rp('kc');
    const w = await relyingPartyPage();
    await w.page.goto(rpUrl);
    await onLatchkeySignIn(w);
    await signIn(w.page, rpUrl);
    t.same(await initialised(w.page), { authenticated: true });
    t.same(w.from(THIRD_PARTY_FRAME), ['supported', 'supported'], 'checked before signing in and on the way back');
    const first = await tokens(w.page);
    await assertVerifies(t, first.token, issuer);
    t.equal(await updateToken(w.page), true);
    t.not((await tokens(w.page)).token, first.token, 'refreshed');
    t.equal(await askStatusFrame(w.page), 'unchanged');
    await w.page.evaluate(() => { void window.keycloak.logout(); });
    await w.page.getByRole('button', { name: 'Sign out' }).click();
    await onLatchkeySignIn(w);
    clean(t, w);
    await w.context.close();
  });

  t.test('an RP on another site: the cookie check says unsupported, keycloak-js works without the status iframe', async (t) => {
    // localhost and 127.0.0.1 are different sites: a browser withholds Latchkey's SameSite=Lax cookies from a frame under the RP.
    const issuer = `${base}/realms/kc`;
    const rpUrl = rp('kc', 'localhost');
    const w = await relyingPartyPage();
    await w.page.goto(rpUrl);
    await onLatchkeySignIn(w);
    t.same(w.from(THIRD_PARTY_FRAME), ['unsupported'], 'answered: unsupported');
    await signIn(w.page, rpUrl);
    t.same(await initialised(w.page), { authenticated: true }, 'init resolved without waiting for anything');
    t.equal(await statusFrameCount(w.page), 0, 'keycloak-js turned its status iframe off');
    await assertVerifies(t, (await tokens(w.page)).token, issuer);
    t.equal(await updateToken(w.page), true, 'updateToken does not wait for an iframe');
    t.same(w.from(STATUS_FRAME), [], 'no status checks');
    t.equal(w.page.url(), rpUrl, 'still signed in at the RP');
    clean(t, w);
    await w.context.close();
  });
}
