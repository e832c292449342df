import t, { type Test } from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { rawRequest } from '../helpers/raw-http.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import { basicAuthorization } from '../helpers/token-requests.ts';

// One error shape: API endpoints answer RFC 6749 §5.2 JSON for every
// failure, browser endpoints Latchkey's error page, unknown paths what
// Accept prefers; never plain text or a framework's own JSON, always
// no-store. Probed over real HTTP, malformed requests over raw TCP.
const setup = demoSetupDocument();
setup.realms.push({ name: 'acme', clients: [], users: [] });
const { issuer } = await startLatchkey(t, { setup: parseSetup(setup) });

const HTML = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const JSON_ACCEPT = { accept: 'application/json' };

interface Answer { status: number; headers: Headers | Record<string, string>; body: string }
const header = (answer: Answer, name: string) =>
  (answer.headers instanceof Headers ? answer.headers.get(name) : answer.headers[name]) ?? null;

async function send(path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(`${issuer}${path}`, { redirect: 'manual', ...init });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** RFC 6749 §5.2: `error` (+ `error_description`), nothing else; no-store; no framework fields. */
function assertJsonError(t: Test, answer: Answer, status: number, error = 'invalid_request'): void {
  t.equal(answer.status, status, `status ${status}`);
  t.match(header(answer, 'content-type'), /^application\/json/, 'JSON');
  t.equal(header(answer, 'cache-control'), 'no-store', 'no-store');
  t.equal(header(answer, 'x-content-type-options'), 'nosniff');
  const body = JSON.parse(answer.body) as Record<string, unknown>;
  t.equal(body['error'], error, `error=${error}`);
  t.same(Object.keys(body).filter((k) => k !== 'error' && k !== 'error_description' && k !== 'state'), [], 'only RFC 6749 §5.2 members');
}

/** Latchkey's error page: HTML under the strict CSP, no-store. */
function assertPage(t: Test, answer: Answer, status: number): void {
  t.equal(answer.status, status, `status ${status}`);
  t.match(header(answer, 'content-type'), /^text\/html/, 'HTML');
  t.equal(header(answer, 'cache-control'), 'no-store', 'no-store');
  t.match(header(answer, 'content-security-policy'), /frame-ancestors 'none'/, 'CSP');
  t.match(answer.body, /<main class="card"/, "Latchkey's page");
  t.notMatch(answer.body, /at [\w.]+ \(|node_modules|FST_|statusCode/, 'no internals');
}

t.test('unknown paths: 404, JSON unless Accept prefers HTML', async (t) => {
  for (const path of ['/nope', '/realms/acme/nope', '/realms/nope/token', '/assets/nope.css', '/']) {
    assertJsonError(t, await send(path), 404);
    assertPage(t, await send(path, { headers: HTML }), 404);
  }
  assertPage(t, await send('/nope', { method: 'POST', headers: HTML, body: 'x=1' }), 404);
  assertJsonError(t, await send('/nope', { method: 'DELETE' }), 404);
});

t.test('a wrong method on an API endpoint: 405 JSON with Allow, whatever Accept says', async (t) => {
  for (const [method, path, allow] of [
    ['GET', '/token', 'POST, OPTIONS'],
    ['PUT', '/token', 'POST, OPTIONS'],
    ['DELETE', '/token', 'POST, OPTIONS'],
    ['PATCH', '/token', 'POST, OPTIONS'],
    ['POST', '/jwks', 'GET, OPTIONS, HEAD'],
    ['PUT', '/me', 'GET, POST, OPTIONS, HEAD'],
    ['GET', '/token/introspection', 'POST, OPTIONS'],
    ['GET', '/token/revocation', 'POST, OPTIONS'],
    ['POST', '/.well-known/openid-configuration', 'GET, OPTIONS, HEAD'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['POST', '/readyz', 'GET, HEAD'],
    ['GET', '/realms/acme/token', 'POST, OPTIONS'],
  ] as const) {
    for (const headers of [{}, HTML]) {
      const answer = await send(path, { method, headers });
      assertJsonError(t, answer, 405);
      t.equal(header(answer, 'allow'), allow, `${method} ${path}: Allow`);
    }
  }
  const css = await send('/branding.css', { method: 'POST' });
  assertJsonError(t, css, 405);
  t.equal(header(css, 'allow'), 'GET, HEAD');
});

t.test('a wrong method on a browser endpoint: 405 page, whatever Accept says', async (t) => {
  for (const [method, path, allow] of [
    ['POST', '/auth', 'GET, HEAD'],
    ['PUT', '/auth/some-uid', 'GET, HEAD'],
    ['POST', '/session/end', 'GET, HEAD'],
    ['GET', '/session/end/confirm', 'POST'],
    ['GET', '/interaction/some-uid/login', 'POST'],
    ['PUT', '/interaction/some-uid', 'GET, HEAD'],
    ['DELETE', '/realms/acme/interaction/some-uid/abort', 'POST'],
  ] as const) {
    const answer = await send(path, { method, headers: JSON_ACCEPT });
    assertPage(t, answer, 405);
    t.equal(header(answer, 'allow'), allow, `${method} ${path}: Allow`);
  }
});

t.test('bodies over the limits: 413', async (t) => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  const big = `grant_type=client_credentials&pad=${'a'.repeat(100_000)}`;
  assertJsonError(t, await send('/token', { method: 'POST', headers: { ...form, authorization: basicAuthorization(['svc', SECRETS.svc]) }, body: big }), 413);
  assertJsonError(t, await send('/token/introspection', { method: 'POST', headers: { ...form, ...HTML }, body: big }), 413);
  assertJsonError(t, await send('/token', { method: 'POST', headers: form, body: `x=${'a'.repeat(2_000_000)}` }), 413);
  assertPage(t, await send('/session/end/confirm', { method: 'POST', headers: form, body: big }), 413);
  assertPage(t, await send('/interaction/some-uid/login', { method: 'POST', headers: form, body: `login=a&password=${'a'.repeat(20_000)}` }), 413);
});

t.test('content types: 415 for one that does not parse, the engine’s 400 for one it does not take', async (t) => {
  assertJsonError(t, await send('/token', { method: 'POST', headers: { 'content-type': '%%%' }, body: 'x' }), 415);
  assertJsonError(t, await send('/realms/acme/token/revocation', { method: 'POST', headers: { 'content-type': 'a/b/c' }, body: 'x' }), 415);
  assertPage(t, await send('/session/end/confirm', { method: 'POST', headers: { 'content-type': '%%%' }, body: 'x' }), 415);
  assertPage(t, await send('/interaction/some-uid/login', { method: 'POST', headers: { 'content-type': 'application/x-evil' }, body: 'x' }), 415);
  assertPage(t, await send('/interaction/some-uid/confirm', { method: 'POST', headers: { 'content-type': '%%%' }, body: 'x' }), 415);
  for (const type of ['text/plain', 'application/json', 'multipart/form-data; boundary=x']) {
    assertJsonError(t, await send('/token', { method: 'POST', headers: { 'content-type': type }, body: 'grant_type=client_credentials' }), 400);
  }
  assertPage(t, await send('/interaction/some-uid/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }), 400);
});

t.test('engine errors keep their endpoint’s shape whatever Accept says', async (t) => {
  const form = { 'content-type': 'application/x-www-form-urlencoded' };
  assertJsonError(t, await send('/token', { method: 'POST', headers: { ...form, ...HTML }, body: 'grant_type=client_credentials' }), 400);
  assertJsonError(t, await send('/token', { method: 'POST', headers: { ...form, ...HTML, authorization: basicAuthorization(['svc', 'wrong']) }, body: 'grant_type=client_credentials' }), 401, 'invalid_client');
  assertJsonError(t, await send('/token/introspection', { method: 'POST', headers: { ...form, ...HTML }, body: 'token=x' }), 400);
  assertJsonError(t, await send('/me', { headers: { ...HTML, authorization: 'Bearer nope' } }), 401, 'invalid_token');
  assertPage(t, await send('/session/end?client_id=nobody', { headers: JSON_ACCEPT }), 400);
  assertPage(t, await send('/auth?client_id=nobody', { headers: JSON_ACCEPT }), 400);
  assertPage(t, await send('/auth/not-an-interaction', { headers: JSON_ACCEPT }), 400);
});

t.test('the session saved after end-session’s error handler ran: a page, not plain text', async (t) => {
  // A NUL in `state` is stored into the session after the route answered;
  // PostgreSQL refuses it and that failure used to reach Koa's default handler.
  for (const headers of [{}, HTML]) assertPage(t, await send('/session/end?state=a%00b', { headers }), 400);
});

t.test('malformed and stale cookies never change the shape or give a 5xx', async (t) => {
  const cookie = '_session=%%%; _session.sig=zzz; _interaction=; _interaction_resume=a%00b; ;;=;';
  assertJsonError(t, await send('/me', { headers: { cookie, authorization: 'Bearer nope' } }), 401, 'invalid_token');
  assertPage(t, await send('/auth/some-uid', { headers: { cookie } }), 400);
  assertPage(t, await send('/interaction/some-uid', { headers: { cookie } }), 400);
  const auth = await send(`/auth?client_id=web1&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://app.test/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`, { headers: { cookie } });
  t.equal(auth.status, 303, 'a valid authorization request still goes to sign-in');
  const end = await send('/session/end', { headers: { cookie } });
  t.ok(end.status < 500, `end-session: ${end.status}`);
});

t.test('what Node and Fastify refuse before any route: JSON, no-store', async (t) => {
  const cases: [string, string, number][] = [
    ['headers over 16 KiB', `GET /token HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`, 431],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400],
    ['a control character in a cookie', 'GET /me HTTP/1.1\r\nHost: x\r\nCookie: _session=\x01\r\nConnection: close\r\n\r\n', 400],
    ['a URL that does not decode', 'GET /%%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
    ['a realm URL that does not decode', 'GET /realms/acme/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400],
    ['HTTP/1.1 without Host (RFC 9112 §3.2)', 'GET /jwks HTTP/1.1\r\nConnection: close\r\n\r\n', 400],
  ];
  for (const [what, request, status] of cases) {
    const answer = await rawRequest(issuer, request);
    t.test(what, async (t) => assertJsonError(t, answer, status));
  }
});

t.test('an interaction path parameter over maxParamLength is a 404, not a 405', async (t) => {
  assertPage(t, await send(`/interaction/${'a'.repeat(300)}`), 404);
});
