import { createHash } from 'node:crypto';
import * as jose from 'jose';
import t, { type Test } from 'tap';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { parseSetup } from '../helpers/setups.ts';
import { postForm } from '../helpers/token-requests.ts';
import { layoutsDocument, SECRETS } from './layout-setups.ts';

// Issue 11: the pages keycloak-js frames with its defaults (3p-cookies
// step1/step2, login-status-iframe.html and its /init), served for realms in
// the keycloak layout only, over plain HTTP. test/browser/keycloak-js.test.ts
// drives them with keycloak-js itself.
const setup = layoutsDocument();
const { clients = [], users = [] } = setup.realms[1]!;
setup.realms.push({ name: 'std', clients, users });
const { issuer: base } = await startLatchkey(t, { setup: parseSetup(setup), logLevel: 'silent' });

const realms: readonly (readonly [label: string, issuer: string])[] = [['/auth prefix', `${base}/auth/realms/ifs`], ['no prefix', `${base}/realms/kc`]];
const issuer = realms[0]![1];
const oidcPath = (at: string) => `${at}/protocol/openid-connect`;
const statusIframe = `${oidcPath(issuer)}/login-status-iframe.html`;

/** The one inline script of a page, and the CSP directives of its answer. */
function inspect(body: string, response: Response) {
  const scripts = [...body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  const csp = response.headers.get('content-security-policy') ?? '';
  const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
  return { scripts, csp, directives };
}

function assertStrictFramedPolicy(t: Test, body: string, response: Response, { connect }: { connect: boolean }) {
  const { scripts, csp, directives } = inspect(body, response);
  t.equal(scripts.length, 1, 'one inline script');
  const hash = `'sha256-${createHash('sha256').update(scripts[0]!).digest('base64')}'`;
  t.same(directives.get('script-src'), [hash], 'script-src is that script\'s hash and nothing else');
  t.notMatch(csp, /unsafe-inline|unsafe-eval/);
  t.same(directives.get('default-src'), ["'none'"]);
  t.same(directives.get('frame-ancestors'), ['*'], 'framed by the RP, whose client is not known yet');
  t.same(directives.get('connect-src'), connect ? ["'self'"] : undefined);
  t.same(directives.get('form-action'), ["'none'"]);
  t.same(directives.get('base-uri'), ["'none'"]);
  t.same(directives.get('require-trusted-types-for'), ["'script'"]);
  t.equal(response.headers.get('x-frame-options'), null);
  t.equal(response.headers.get('cache-control'), 'no-store');
  t.match(response.headers.get('content-type'), /^text\/html/);
  t.notMatch(body, /document\.cookie/, 'no cookie is read by script');
}

t.test('3p-cookies: step1 sets a probe with the session cookie\'s attributes, step2 says whether it came back', async (t) => {
  for (const [label, at] of realms) {
    const browser = new Browser(at);
    const step1 = await browser.request(`${oidcPath(at)}/3p-cookies/step1.html`);
    t.equal(step1.status, 302, label);
    const path = new URL(`${oidcPath(at)}/3p-cookies/`).pathname;
    t.equal(step1.headers.get('location'), `${path}step2.html`);
    const [probe] = step1.headers.getSetCookie();
    t.match(probe, new RegExp(`^latchkey_3p_probe=1; Path=${path}; Max-Age=60; HttpOnly; SameSite=Lax$`), 'Lax and HttpOnly like _session; no Secure over http');

    const supported = await browser.request(step1.headers.get('location')!);
    t.equal(supported.status, 200);
    const body = await supported.text();
    assertStrictFramedPolicy(t, body, supported, { connect: false });
    t.same(inspect(body, supported).scripts, ['parent.postMessage("supported", "*");']);
    t.match(supported.headers.getSetCookie()[0], /^latchkey_3p_probe=; .*Max-Age=0/, 'the probe is cleared');

    const fresh = await fetch(`${oidcPath(at)}/3p-cookies/step2.html`);
    const unsupported = await fresh.text();
    assertStrictFramedPolicy(t, unsupported, fresh, { connect: false });
    t.same(inspect(unsupported, fresh).scripts, ['parent.postMessage("unsupported", "*");'], 'no probe: unsupported');
    t.same(fresh.headers.getSetCookie(), []);
  }
});

t.test('login-status-iframe.html: strict CSP with its script hash, frameable, fetches only its own origin', async (t) => {
  for (const [label, at] of realms) {
    const response = await fetch(`${oidcPath(at)}/login-status-iframe.html`);
    t.equal(response.status, 200, label);
    const body = await response.text();
    assertStrictFramedPolicy(t, body, response, { connect: true });
    t.match(inspect(body, response).scripts[0], /event\.source !== parent/, 'answers its parent only');
  }
});

t.test('/init: 204 only for one of the client\'s redirect-URI origins, 403 otherwise, 400 for bad input', async (t) => {
  const init = (query: Record<string, string>, at = issuer) => fetch(`${oidcPath(at)}/login-status-iframe.html/init?${new URLSearchParams(query)}`);
  for (const [, at] of realms) {
    t.equal((await init({ client_id: 'spa1', origin: 'https://spa.test' }, at)).status, 204, 'spa1 from its own origin');
  }
  t.equal((await init({ client_id: 'web1', origin: 'https://app.test' })).status, 204, 'a confidential client\'s origin too');
  for (const [query, why] of [
    [{ client_id: 'spa1', origin: 'https://evil.test' }, 'another origin'],
    [{ client_id: 'spa1', origin: 'https://spa.test.evil.test' }, 'a longer host'],
    [{ client_id: 'spa1', origin: 'https://spa.test/' }, 'an origin with a path'],
    [{ client_id: 'spa1', origin: 'http://spa.test' }, 'another scheme'],
    [{ client_id: 'spa1', origin: 'null' }, 'the opaque origin'],
    [{ client_id: 'web1', origin: 'https://spa.test' }, 'another client\'s origin'],
    [{ client_id: 'nobody', origin: 'https://spa.test' }, 'an unknown client'],
    [{ client_id: 'ifs-service', origin: 'https://spa.test' }, 'a client with no redirect URIs'],
  ] as const) {
    const response = await init(query);
    t.equal(response.status, 403, why);
    t.match(await response.json(), { error: 'invalid_request' });
  }
  for (const [query, why] of [
    [{ origin: 'https://spa.test' }, 'no client_id'],
    [{ client_id: 'spa1' }, 'no origin'],
    [{ client_id: '', origin: 'https://spa.test' }, 'an empty client_id'],
    [{ client_id: 'x'.repeat(257), origin: 'https://spa.test' }, 'a client_id too long'],
    [{ client_id: 'spa1', origin: `https://${'a'.repeat(2048)}.test` }, 'an origin too long'],
  ] as const) {
    const response = await init(query as Record<string, string>);
    t.equal(response.status, 400, why);
  }
  const twice = await fetch(`${statusIframe}/init?client_id=spa1&client_id=web1&origin=https://spa.test`);
  t.ok(twice.status >= 400 && twice.status < 500, `a repeated parameter is 4xx (${twice.status})`);
  t.equal((await fetch(`${statusIframe}/init?client_id=%00&origin=https://spa.test`)).status, 403, 'a NUL client_id finds no client');
  t.equal((await fetch(`${statusIframe}/init`, { method: 'POST' })).status, 405);
});

t.test('/status: unchanged only for the browser\'s live session and the sid the client holds', async (t) => {
  const { tokens, browser } = await codeFlow(issuer, { clientId: 'spa1', secret: null, redirectUri: 'https://spa.test/cb', scope: 'openid' });
  const sid = String(jose.decodeJwt(tokens.access_token)['sid']);
  t.ok(sid, 'the access token names the session (keycloak-js keeps it as sessionId)');
  const status = async (sessionState: string, { as = browser, clientId = 'spa1', origin = 'https://spa.test', headers = {} as Record<string, string> } = {}) => {
    const response = await as.request(`${statusIframe}/status?${new URLSearchParams({ client_id: clientId, origin, session_state: sessionState })}`, { headers });
    return { code: response.status, body: await response.json() as Record<string, unknown>, response };
  };

  const live = await status(sid);
  t.same(live.body, { status: 'unchanged' });
  t.equal(live.response.headers.get('cache-control'), 'no-store');
  t.equal(live.response.headers.get('cross-origin-resource-policy'), 'same-origin');
  t.same((await status(sid, { headers: { 'sec-fetch-site': 'same-origin' } })).body, { status: 'unchanged' }, 'from the iframe itself');
  t.same((await status(`${sid}x`)).body, { status: 'changed' }, 'another sid');
  t.same((await status('')).body, { status: 'changed' }, 'the client knows no session but the browser has one');
  t.same((await status(sid, { clientId: 'web1', origin: 'https://app.test' })).body, { status: 'changed' }, 'the session holds no authorization for another client');

  const stranger = new Browser(issuer);
  t.same((await status(sid, { as: stranger })).body, { status: 'changed' }, 'another browser');
  t.same((await status('', { as: stranger })).body, { status: 'unchanged' }, 'no session on either side');
  const forged = new Browser(issuer);
  forged.jar.set('_session', browser.jar.get('_session')!);
  forged.jar.set('_session.sig', 'AAAAAAAAAAAAAAAAAAAAAAAAAAA');
  t.same((await status(sid, { as: forged })).body, { status: 'changed' }, 'the session cookie with a bad signature');
  const unsigned = new Browser(issuer);
  unsigned.jar.set('_session', browser.jar.get('_session')!);
  t.same((await status(sid, { as: unsigned })).body, { status: 'changed' }, 'the session cookie without its signature');

  // The session is the realm's: the kc realm does not know it.
  const other = await browser.request(`${oidcPath(`${base}/realms/kc`)}/login-status-iframe.html/status?${new URLSearchParams({ client_id: 'spa1', origin: 'https://spa.test', session_state: sid })}`);
  t.same(await other.json(), { status: 'changed' }, 'another realm');

  for (const site of ['cross-site', 'same-site', 'none']) {
    const refused = await status(sid, { headers: { 'sec-fetch-site': site } });
    t.equal(refused.code, 403, `Sec-Fetch-Site: ${site}`);
  }
  t.equal((await status(sid, { origin: 'https://evil.test' })).code, 403, 'an origin not the client\'s');
  t.equal((await status(sid, { clientId: 'nobody' })).code, 403, 'an unknown client');
  t.equal((await browser.request(`${statusIframe}/status?client_id=spa1&origin=https://spa.test`)).status, 400, 'no session_state');
  t.equal((await status('s'.repeat(257))).code, 400, 'a session_state too long');
  t.equal((await status('\u0000')).code, 200, 'a NUL sid is just another sid');
});

t.test('/status says changed once the session ends at Latchkey: logout, or its grant revoked', async (t) => {
  const flow = () => codeFlow(issuer, { clientId: 'spa1', secret: null, redirectUri: 'https://spa.test/cb', scope: 'openid' });
  const ask = async (browser: Browser, sid: string) => (await (await browser.request(`${statusIframe}/status?${new URLSearchParams({ client_id: 'spa1', origin: 'https://spa.test', session_state: sid })}`)).json() as { status: string }).status;

  const first = await flow();
  const sid = String(jose.decodeJwt(first.tokens.access_token)['sid']);
  t.equal(await ask(first.browser, sid), 'unchanged');
  // Logout as keycloak-js sends it, confirmed on Latchkey's page.
  const logout = new URL(`${oidcPath(issuer)}/logout`);
  logout.search = new URLSearchParams({ client_id: 'spa1', id_token_hint: first.tokens.id_token! }).toString();
  const page = await (await first.browser.request(logout.href)).text();
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(page)![1]!;
  t.equal((await first.browser.request(`${oidcPath(issuer)}/logout/confirm`, { method: 'POST', form: { xsrf, logout: 'yes' } })).status, 303);
  t.equal(await ask(first.browser, sid), 'changed', 'after logout');

  const second = await codeFlow(issuer, { clientId: 'spa1', secret: null, redirectUri: 'https://spa.test/cb', scope: 'openid', browser: new Browser(issuer) });
  // keycloak-js asks for no refresh token scope; spa1 gets one as Keycloak's clients do.
  const secondSid = String(jose.decodeJwt(second.tokens.access_token)['sid']);
  t.equal(await ask(second.browser, secondSid), 'unchanged');
  t.equal((await postForm(`${oidcPath(issuer)}/revoke`, { token: second.tokens.refresh_token!, client_id: 'spa1' })).status, 200);
  t.equal(await ask(second.browser, secondSid), 'changed', 'after its grant was revoked');
});

t.test('keycloak-js\'s authorization request: response_mode=fragment with response_type=code', async (t) => {
  const browser = new Browser(issuer);
  const verifier = 'v'.repeat(96);
  const url = new URL(`${oidcPath(issuer)}/auth`);
  url.search = new URLSearchParams({
    client_id: 'spa1', redirect_uri: 'https://spa.test/cb', state: 'a-uuid-state', response_mode: 'fragment', response_type: 'code',
    scope: 'openid', nonce: 'a-uuid-nonce', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  }).toString();
  const callback = await browser.authorize(url.href, { login: 'alice', password: SECRETS.alice });
  t.equal(callback.search, '', 'nothing in the query');
  const fragment = new URLSearchParams(callback.hash.slice(1));
  t.equal(fragment.get('state'), 'a-uuid-state');
  t.equal(fragment.get('iss'), issuer);
  const code = fragment.get('code');
  t.ok(code, 'the code is in the fragment');
  const tokens = await postForm(`${oidcPath(issuer)}/token`, {
    grant_type: 'authorization_code', code: code!, client_id: 'spa1', redirect_uri: 'https://spa.test/cb', code_verifier: verifier,
  });
  t.equal(tokens.status, 200, JSON.stringify(tokens.json));
  t.equal(jose.decodeJwt(tokens.json!['id_token'])['nonce'], 'a-uuid-nonce');
});

t.test('served in the keycloak layout only, and only where the realm is', async (t) => {
  for (const path of [
    '/realms/std/protocol/openid-connect/3p-cookies/step1.html',
    '/realms/std/protocol/openid-connect/login-status-iframe.html',
    '/realms/std/protocol/openid-connect/login-status-iframe.html/init?client_id=spa1&origin=https://spa.test',
    '/oauth2/default/protocol/openid-connect/3p-cookies/step2.html',
    '/oauth2/default/protocol/openid-connect/login-status-iframe.html',
    '/protocol/openid-connect/login-status-iframe.html',
    '/realms/ifs/protocol/openid-connect/login-status-iframe.html',
    '/auth/realms/kc/protocol/openid-connect/login-status-iframe.html',
    '/realms/nope/protocol/openid-connect/3p-cookies/step1.html',
    '/auth/realms/ifs/protocol/openid-connect/3p-cookies/step3.html',
    '/auth/realms/ifs/protocol/openid-connect/login-status-iframe.html/other',
  ]) {
    const response = await fetch(`${base}${path}`);
    t.equal(response.status, 404, path);
    t.notOk(response.headers.get('set-cookie'), 'no probe');
  }
  // The standard realm itself is up: only the pages are missing.
  t.equal((await fetch(`${base}/realms/std/.well-known/openid-configuration`)).status, 200);
});
