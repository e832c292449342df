import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as jose from 'jose';
import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import { chromiumMissing, launchChromium, watchedPage } from './chromium.ts';

// Issue 11: Okta's own browser SDK (@okta/okta-auth-js 8) signs a user in
// with PKCE against a realm in the okta layout, in Debian's Chromium, from an
// application on another origin: discovery, /v1/authorize, /v1/token (CORS,
// preflighted: the SDK sends JSON content types and its own header), the ID
// token checked by the SDK against /v1/keys, /v1/userinfo, then signOut():
// /v1/revoke with the SDK's `Basic base64(client_id)`, and /v1/logout.
const missing = chromiumMissing();
if (missing) t.plan(0, missing);
else await run();

async function run(): Promise<void> {
  // The package's exports do not list its browser bundle; it sits beside package.json.
  const packageJson = createRequire(import.meta.url).resolve('@okta/okta-auth-js/package.json');
  const bundle = await readFile(new URL('dist/okta-auth-js.min.js', pathToFileURL(packageJson)));
  // The application: its pages are served before Latchkey starts, so the client can name their exact URLs.
  let config = '';
  const app = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/okta-auth-js.min.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    if (path === '/' || path === '/callback' || path === '/bye') {
      return res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>app</title>
<script src="/okta-auth-js.min.js"></script>
<script>
  const auth = new OktaAuth(${config});
  window.auth = auth;
  window.outcome = (async () => {
    if (location.pathname === '/callback') {
      const { tokens } = await auth.token.parseFromUrl();
      auth.tokenManager.setTokens(tokens);
      const user = await auth.token.getUserInfo(tokens.accessToken, tokens.idToken);
      return { accessToken: tokens.accessToken.accessToken, idClaims: tokens.idToken.claims, refresh: Boolean(tokens.refreshToken), user };
    }
    return null;
  })().catch((error) => ({ error: String(error && (error.errorSummary || error.message) || error) }));
</script><p>${path}</p>`);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => app.close(() => resolve())));
  const appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;

  const document = demoSetupDocument();
  const realm = document.realms[0]!;
  realm['layout'] = 'okta';
  realm.clients!.push({
    client_id: 'okta-spa', application_type: 'web', token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    redirect_uris: [`${appOrigin}/callback`], post_logout_redirect_uris: [`${appOrigin}/bye`],
    scope: 'openid profile email offline_access',
  });
  const { issuer: base } = await startLatchkey(t, { setup: parseSetup(document), logLevel: 'silent' });
  const issuer = `${base}/oauth2/default`;
  config = JSON.stringify({
    issuer, clientId: 'okta-spa', redirectUri: `${appOrigin}/callback`, postLogoutRedirectUri: `${appOrigin}/bye`,
    scopes: ['openid', 'profile', 'email', 'offline_access'], pkce: true,
    // Renewal without a refresh token uses Okta's own response_mode=okta_post_message; this client has one.
    tokenManager: { autoRenew: false }, services: { autoRenew: false },
  });

  const browser = await launchChromium(t);

  t.test('signInWithRedirect, the callback, the ID token checked by the SDK, userinfo, signOut', async (t) => {
    const w = await watchedPage(browser);
    await w.page.goto(`${appOrigin}/`);
    await w.page.evaluate(() => (globalThis as unknown as { auth: { signInWithRedirect(): Promise<void> } }).auth.signInWithRedirect());
    await w.page.waitForURL((url) => url.href.startsWith(`${base}/oauth2/default/interaction/`));
    await w.page.getByLabel('Username or e-mail').fill('alice');
    await w.page.getByLabel('Password').fill(SECRETS.alice);
    await w.page.getByRole('button', { name: 'Sign in' }).click();
    await w.page.getByRole('button', { name: 'Allow' }).click();
    await w.page.waitForURL((url) => url.href.startsWith(`${appOrigin}/callback`));
    const outcome = await w.page.evaluate(() => (globalThis as unknown as { outcome: Promise<Record<string, any>> }).outcome);
    t.notOk(outcome['error'], `no SDK error (${outcome['error']})`);
    t.match(outcome['idClaims'], { iss: issuer, aud: 'okta-spa', ver: 1 });
    t.equal(outcome['refresh'], true, 'a refresh token (offline_access)');
    t.match(outcome['user'], { sub: outcome['idClaims']?.sub, email: 'alice@example.test' });
    const access = jose.decodeJwt(outcome['accessToken']);
    t.match(access, { ver: 1, cid: 'okta-spa', sub: 'alice', aud: 'api://default' });

    // signOut(): revokes (Basic base64(client_id), the SDK's way for a public client), then /v1/logout.
    const revocations: number[] = [];
    w.page.on('response', (response) => { if (response.url().endsWith('/v1/revoke') && response.request().method() === 'POST') revocations.push(response.status()); });
    await w.page.evaluate(() => { void (globalThis as unknown as { auth: { signOut(): Promise<void> } }).auth.signOut(); });
    await w.page.waitForURL((url) => url.href.startsWith(`${issuer}/v1/logout`));
    t.same(revocations, [200, 200], 'the refresh and the access token revoked');
    const introspected = await fetch(`${issuer}/v1/introspect`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`rs:${SECRETS.rs}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: outcome['accessToken'] }),
    });
    t.same(await introspected.json(), { active: false }, 'revoked for real');
    await w.page.getByRole('button', { name: 'Sign out' }).click();
    await w.page.waitForURL((url) => url.href.startsWith(`${appOrigin}/bye`));
    t.same(w.pageErrors, []);
    t.same(w.cspViolations, []);
  });
}
