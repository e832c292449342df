import t from 'tap';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow, discover } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';

const { issuer, logs } = await startLatchkey(t);

async function loginPage(browser = new Browser(issuer)) {
  const config = await discover(issuer, 'web1', SECRETS.web1);
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: 'https://app.test/cb', scope: 'openid', state: 's',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  });
  const first = await browser.request(url.href);
  const interactionPath = new URL(first.headers.get('location')!, issuer).pathname;
  const page = await browser.request(interactionPath);
  return { browser, first, page, interactionPath };
}

t.test('case 86: HTML pages send a strict CSP and the other security headers', async (t) => {
  const { page } = await loginPage();
  t.equal(page.status, 200);
  const csp = page.headers.get('content-security-policy') ?? '';
  t.match(csp, /frame-ancestors 'none'/);
  t.match(csp, /object-src 'none'/);
  t.match(csp, /script-src 'none'/);
  t.notMatch(csp, /unsafe-inline/);
  t.match(csp, /form-action 'self' https:\/\/app\.test/, 'form-action lets the post-login redirect reach the client');
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  t.equal(page.headers.get('referrer-policy'), 'no-referrer');
  t.equal(page.headers.get('cache-control'), 'no-store');
  const html = await page.text();
  t.match(html, /<html lang="en">/);
  t.match(html, /<label for="login">/);
  t.match(html, /<label for="password">/);
  t.notMatch(html, /<script|style=/, 'no inline script or style');
});

t.test('case 87: interaction cookies are HttpOnly, SameSite=Lax and signed', async (t) => {
  const { first } = await loginPage();
  const cookies = first.headers.getSetCookie();
  const interaction = cookies.find((c) => c.startsWith('_interaction='));
  t.ok(interaction);
  t.match(interaction!, /httponly/i);
  t.match(interaction!, /samesite=lax/i);
  t.ok(cookies.some((c) => c.startsWith('_interaction.sig=')), 'signed');
});

t.test('case 71: a cross-site login POST is refused, no session', async (t) => {
  const { browser, interactionPath } = await loginPage();
  const crossSite = await browser.request(`${interactionPath}/login`, {
    method: 'POST', headers: { origin: 'https://evil.test' }, form: { login: 'alice', password: SECRETS.alice },
  });
  t.equal(crossSite.status, 403);
  t.equal(crossSite.headers.get('location'), null);
  t.notOk(browser.jar.get('_session'));

  // Without the SameSite=Lax interaction cookie (what a cross-site form POST carries).
  const cookieless = await fetch(`${issuer}${interactionPath}/login`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `login=alice&password=${SECRETS.alice}`, redirect: 'manual',
  });
  t.equal(cookieless.status, 400);
  t.equal(cookieless.headers.get('location'), null);
});

t.test('case 71: Fetch Metadata — cross-site is refused; Origin null only when same-origin', async (t) => {
  for (const [headers, expected] of [
    [{ origin: 'null' }, 403],                                       // a sandboxed frame or data: page
    [{ origin: 'null', 'sec-fetch-site': 'cross-site' }, 403],
    [{ 'sec-fetch-site': 'same-site' }, 403],                        // a sibling subdomain
    [{ origin: issuer, 'sec-fetch-site': 'cross-site' }, 403],
    // What Chromium sends for our own form under Referrer-Policy: no-referrer.
    [{ origin: 'null', 'sec-fetch-site': 'same-origin' }, 303],
  ] as const) {
    const { browser, interactionPath } = await loginPage();
    const answer = await browser.request(`${interactionPath}/login`, { method: 'POST', headers, form: { login: 'alice', password: SECRETS.alice } });
    t.equal(answer.status, expected, JSON.stringify(headers));
    if (expected === 403) t.notOk(browser.jar.get('_session'), 'no session');
  }
});

t.test('case 72/73: a login or consent POST for another interaction is refused', async (t) => {
  const { browser } = await loginPage();
  const other = await browser.request('/interaction/not-a-real-uid/login', { method: 'POST', form: { login: 'alice', password: SECRETS.alice } });
  t.equal(other.status, 400);
  t.match(await other.text(), /expired or was already used/);
  const consent = await browser.request('/interaction/not-a-real-uid/confirm', { method: 'POST', form: {} });
  t.equal(consent.status, 400);
});

t.test('the redirect after a credential POST is 303, never 307 (RFC 9700 §4.12)', async (t) => {
  const { browser, interactionPath } = await loginPage();
  const res = await browser.request(`${interactionPath}/login`, { method: 'POST', form: { login: 'alice', password: SECRETS.alice } });
  t.equal(res.status, 303);
});

t.test('case 85: error pages escape reflected parameters', async (t) => {
  const res = await fetch(`${issuer}/auth?client_id=${encodeURIComponent('<script>alert(1)</script>')}&response_type=code&scope=openid`, { headers: { accept: 'text/html' } });
  t.equal(res.status, 400);
  const body = await res.text();
  t.notMatch(body, /<script>alert/);
  t.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
});

t.test('case 88: token, introspection and userinfo responses are not cacheable; no CORS at /auth', async (t) => {
  const { tokens } = await codeFlow(issuer);
  const basic = `Basic ${Buffer.from(`web1:${SECRETS.web1}`).toString('base64')}`;
  const introspection = await fetch(`${issuer}/token/introspection`, {
    method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${tokens.access_token}`,
  });
  t.match(introspection.headers.get('cache-control') ?? '', /no-store/);
  const userinfo = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.equal(userinfo.status, 200);
  t.match(userinfo.headers.get('cache-control') ?? '', /no-store/);
  const cc = await fetch(`${issuer}/token`, {
    method: 'POST', headers: { authorization: `Basic ${Buffer.from(`svc:${SECRETS.svc}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials',
  });
  t.match(cc.headers.get('cache-control') ?? '', /no-store/);
  const preflight = await fetch(`${issuer}/auth`, { method: 'OPTIONS', headers: { origin: 'https://evil.test', 'access-control-request-method': 'GET' } });
  t.equal(preflight.headers.get('access-control-allow-origin'), null);
});

t.test('untrusted X-Forwarded-* headers do not change the issuer (RFC 9700 §4.13)', async (t) => {
  const res = await fetch(`${issuer}/.well-known/openid-configuration`, {
    headers: { 'x-forwarded-host': 'evil.test', 'x-forwarded-proto': 'https' },
  });
  const meta = await res.json() as { issuer: string; token_endpoint: string };
  t.equal(meta.issuer, issuer);
  t.ok(meta.token_endpoint.startsWith(issuer));
});

t.test('?access_token= in the query is not accepted at userinfo', async (t) => {
  const { tokens } = await codeFlow(issuer);
  const res = await fetch(`${issuer}/me?access_token=${tokens.access_token}`);
  t.ok([400, 401].includes(res.status), `status ${res.status}`);
});

t.test('no password, secret or token in the logs', async (t) => {
  const all = logs.join('');
  for (const secret of Object.values(SECRETS)) t.notOk(all.includes(secret), 'secret absent from logs');
  // A token value under its name; the names alone are in audit events (`issued: [access_token, …]`).
  t.notMatch(all, /"(access_token|refresh_token|id_token)"\s*:\s*"[^"]{20,}/);
});
