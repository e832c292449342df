import t, { type Test } from 'tap';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { demoSetupDocument, parseSetup } from '../helpers/setups.ts';

// URLs come from the configured issuer only: discovery, redirects, form
// actions, cookie paths and links never reflect Host or X-Forwarded-Host,
// for the default realm (at /) and another realm (at /realms/acme/), with
// the proxy trusted or not. Secure cookies still follow a trusted TLS proxy.
const ACME_PASSWORD = 'acme-password-for-tests';
function setupWithAcme() {
  const setup = demoSetupDocument();
  setup.realms.push({
    name: 'acme',
    clients: [{
      client_id: 'acme-web',
      client_secret: 'acme-web-secret-for-tests-only',
      application_type: 'web',
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['https://acme.test/cb'],
      post_logout_redirect_uris: ['https://acme.test/bye'],
      scope: 'openid profile',
    }],
    users: [{ username: 'ann', password: ACME_PASSWORD, email: 'ann@acme.test', email_verified: true, name: 'Ann' }],
  });
  return parseSetup(setup);
}

const EVIL = 'evil.example';
const HOSTILE = { 'x-forwarded-host': EVIL, 'x-forwarded-for': '203.0.113.9', forwarded: `host=${EVIL};proto=https` };

const trusted = await startLatchkey(t, { setup: setupWithAcme(), trustProxy: true });
const untrusted = await startLatchkey(t, { setup: setupWithAcme() });

type Metadata = Record<string, unknown>;

function assertOnlyIssuerUrls(t: Test, metadata: Metadata, issuer: string): void {
  t.equal(metadata['issuer'], issuer, 'issuer');
  const urls = Object.entries(metadata).filter(([key, value]) => (key.endsWith('_endpoint') || key.endsWith('_uri')) && typeof value === 'string');
  t.ok(urls.length >= 6, `${urls.length} endpoint URLs`);
  for (const [key, value] of urls) t.ok(String(value).startsWith(`${issuer}/`), `${key} = ${String(value)}`);
  t.notMatch(JSON.stringify(metadata), new RegExp(EVIL.replace('.', '\\.')), 'the hostile host appears nowhere');
}

async function rawDiscovery(origin: string, target: string, host: string, extra = ''): Promise<Metadata> {
  const answer = await rawRequest(origin, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);
  return JSON.parse(answer.body) as Metadata;
}

for (const [label, server] of [['proxy trusted', trusted], ['proxy not trusted', untrusted]] as const) {
  t.test(`discovery names the issuer's URLs whatever Host or X-Forwarded-Host say (${label})`, async (t) => {
    const { issuer } = server;
    const acme = `${issuer}/realms/acme`;
    const forwarded = `X-Forwarded-Host: ${EVIL}\r\nX-Forwarded-Proto: https\r\n`;
    const documents: [string, string][] = [
      [issuer, '/.well-known/openid-configuration'],
      [acme, '/realms/acme/.well-known/openid-configuration'],
      [acme, '/.well-known/oauth-authorization-server/realms/acme'], // RFC 8414 §3
    ];
    for (const [realmIssuer, path] of documents) {
      assertOnlyIssuerUrls(t, await rawDiscovery(issuer, path, EVIL), realmIssuer);
      assertOnlyIssuerUrls(t, await rawDiscovery(issuer, path, EVIL, forwarded), realmIssuer);
      // Absolute-form request target (RFC 9112 §3.2.2).
      assertOnlyIssuerUrls(t, await rawDiscovery(issuer, `http://${EVIL}${path}`, EVIL), realmIssuer);
    }
  });
}

/** A browser behind a hostile proxy: every request carries forwarded headers naming another host. */
async function step(browser: Browser, url: string, init: RequestInit & { form?: Record<string, string> } = {}) {
  return browser.request(url, { ...init, headers: { ...HOSTILE, 'x-forwarded-proto': 'https', ...init.headers } });
}

function assertIssuerLocation(t: Test, response: Response, issuer: string, startsWith: string): URL {
  const location = response.headers.get('location') ?? '';
  t.notMatch(location, new RegExp(EVIL.replace('.', '\\.')), `Location ${location} does not name the hostile host`);
  const url = new URL(location, issuer);
  t.equal(url.origin, new URL(issuer).origin, 'same origin as the issuer');
  t.ok(url.pathname.startsWith(startsWith), `${url.pathname} under ${startsWith}`);
  return url;
}

t.test('a realm at /realms/acme/: sign-in, consent and logout keep to the issuer, cookies are Secure behind a trusted TLS proxy', async (t) => {
  const { issuer } = trusted;
  const acme = `${issuer}/realms/acme`;
  const browser = new Browser(issuer);
  const verifier = oidc.randomPKCECodeVerifier();
  const authorize = `${acme}/auth?${new URLSearchParams({
    client_id: 'acme-web', response_type: 'code', scope: 'openid profile', state: 'acme-state',
    redirect_uri: 'https://acme.test/cb', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
  })}`;

  const start = await step(browser, authorize);
  t.equal(start.status, 303);
  const loginPage = assertIssuerLocation(t, start, issuer, '/realms/acme/interaction/');
  const cookies = start.headers.getSetCookie();
  t.ok(cookies.length > 0 && cookies.every((c) => /;\s*secure/i.test(c)), 'every cookie is Secure (X-Forwarded-Proto: https from a trusted proxy)');
  const resumeCookie = cookies.find((c) => c.startsWith('_interaction_resume='));
  t.match(resumeCookie, /path=\/realms\/acme\/auth\//i, "the resume cookie's path is the realm's");

  const page = await step(browser, loginPage.pathname);
  t.equal(page.status, 200);
  const html = await page.text();
  t.notMatch(html, new RegExp(EVIL.replace('.', '\\.')), 'the page names no other host');
  t.match(html, new RegExp(`action="${loginPage.pathname}/login"`), 'form action under the realm');

  const login = await step(browser, `${loginPage.pathname}/login`, { method: 'POST', form: { login: 'ann', password: ACME_PASSWORD } });
  t.equal(login.status, 303);
  const resume = assertIssuerLocation(t, login, issuer, '/realms/acme/auth/');
  t.equal(`${resume.origin}${resume.pathname}`.startsWith(`${acme}/auth/`), true, 'resume URL from the realm issuer');

  const consent = await step(browser, resume.href);
  const consentPage = assertIssuerLocation(t, consent, issuer, '/realms/acme/interaction/');
  const confirm = await step(browser, `${consentPage.pathname}/confirm`, { method: 'POST', form: {} });
  const back = await step(browser, assertIssuerLocation(t, confirm, issuer, '/realms/acme/auth/').href);
  const callback = new URL(back.headers.get('location')!);
  t.equal(`${callback.origin}${callback.pathname}`, 'https://acme.test/cb', 'back at the client');
  t.equal(callback.searchParams.get('iss'), acme, 'RFC 9207 iss is the realm issuer');
  t.ok(callback.searchParams.get('code'), 'a code');

  const logout = await step(browser, `${acme}/session/end?client_id=acme-web&post_logout_redirect_uri=${encodeURIComponent('https://acme.test/bye')}`);
  t.equal(logout.status, 200);
  const logoutHtml = await logout.text();
  const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(logoutHtml)?.[1]?.replace(/&amp;/g, '&');
  t.equal(action, `${acme}/session/end/confirm`, 'the logout form posts to the realm issuer');
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(logoutHtml)![1]!;
  const done = await step(browser, action!, { method: 'POST', form: { xsrf, logout: 'yes' } });
  t.equal(done.status, 303);
  t.match(done.headers.get('location'), /^https:\/\/acme\.test\/bye/, 'to the registered post-logout URI');
});

t.test('the default realm: the signed-out page link and resume URL come from the issuer (proxy not trusted)', async (t) => {
  const { issuer } = untrusted;
  const browser = new Browser(issuer);
  const noSession = await step(browser, `${issuer}/session/end`);
  t.equal(noSession.status, 200);
  t.match(await noSession.text(), new RegExp(`action="${issuer}/session/end/confirm"`), 'form_post action from the issuer');
  const start = await step(browser, `${issuer}/auth?${new URLSearchParams({
    client_id: 'web1', response_type: 'code', scope: 'openid', redirect_uri: 'https://app.test/cb',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  })}`);
  assertIssuerLocation(t, start, issuer, '/interaction/');
  t.ok(start.headers.getSetCookie().every((c) => !/;\s*secure/i.test(c)), 'X-Forwarded-Proto from an untrusted proxy does not make cookies Secure');
});

t.test('an https issuer served over plain HTTP (TLS ends at a proxy): https URLs, Secure cookies, HSTS', async (t) => {
  const { issuer, listening } = await startLatchkey(t, { issuer: 'https://id.example.test' });
  const metadata = await (await fetch(`${listening}/.well-known/openid-configuration`)).json() as Metadata;
  t.equal(metadata['token_endpoint'], 'https://id.example.test/token');
  assertOnlyIssuerUrls(t, metadata, issuer);
  const start = await fetch(`${listening}/auth?${new URLSearchParams({
    client_id: 'web1', response_type: 'code', scope: 'openid', redirect_uri: 'https://app.test/cb',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
  })}`, { redirect: 'manual' });
  t.equal(start.status, 303);
  t.ok(start.headers.getSetCookie().every((c) => /;\s*secure/i.test(c)), 'Secure cookies');
  t.match(start.headers.get('strict-transport-security'), /max-age=/, 'HSTS');
  t.match((await fetch(`${listening}/healthz`)).headers.get('strict-transport-security'), /max-age=/, 'HSTS on Latchkey routes too');
});
