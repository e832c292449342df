import t from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { SECRETS } from '../helpers/setups.ts';
import { proxiedDatabase } from '../helpers/proxied-database.ts';
import { tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';

// Cases 64 and 99 of SECURITY-CATALOG.md. An outage needs a database server;
// in embedded mode the suite still uses the local PostgreSQL when there is one.
const proxied = await proxiedDatabase(t);
if (!proxied) {
  t.plan(0, 'no PostgreSQL server reachable to take down');
} else {
  const { proxy } = proxied;
  const viaProxy = proxied.viaProxy;

  const { issuer } = await startLatchkey(t, { databaseUrl: viaProxy });
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const post = (path: string, form: Record<string, string>, auth = basic('svc', SECRETS.svc)) =>
    fetch(`${issuer}${path}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });

  const before = await post('/token', { grant_type: 'client_credentials', scope: 'api:read' });
  t.equal(before.status, 200, 'tokens are issued while the database is up');
  const { access_token: token } = await before.json() as { access_token: string };

  await proxy.cut();

  t.test('token endpoint: 503 with Retry-After and an OAuth error, never a hang', async (t) => {
    // The deadline catches a hang (a request waiting forever for a connection);
    // how fast the answer comes is the benchmark's business, not this test's.
    const res = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc], deadlineMs: 15_000 })
      .catch((error: Error) => { t.fail(`no answer within 15 s: ${error.message}`); return undefined; });
    if (!res) return;
    t.equal(res.status, 503);
    t.ok(Number(res.headers.get('retry-after')) > 0, 'Retry-After present');
    t.equal(res.json?.error, 'temporarily_unavailable');
    t.notOk(res.text.includes('ECONNREFUSED'), 'no internals in the body');
  });

  t.test('revocation while the database is down is 503, never 200 (RFC 7009 §2.2.1)', async (t) => {
    const res = await post('/token/revocation', { token, token_type_hint: 'access_token' });
    t.equal(res.status, 503);
  });

  t.test('introspection while down is 503, not active:false', async (t) => {
    const res = await post('/token/introspection', { token }, basic('rs', SECRETS.rs));
    t.equal(res.status, 503);
  });

  t.test('readiness reports the outage; discovery and JWKS are still served', async (t) => {
    t.equal((await fetch(`${issuer}/readyz`)).status, 503);
    t.equal((await fetch(`${issuer}/healthz`)).status, 200);
    t.equal((await fetch(`${issuer}/.well-known/openid-configuration`)).status, 200);
    t.equal((await fetch(`${issuer}/jwks`)).status, 200);
  });

  t.test('the authorization endpoint answers with a page, not a 500', async (t) => {
    const res = await fetch(`${issuer}/auth?client_id=spa1&response_type=code&scope=openid&redirect_uri=${encodeURIComponent('https://spa.test/cb')}&code_challenge=${'a'.repeat(43)}&code_challenge_method=S256`, { redirect: 'manual' });
    t.ok(res.status === 503 || (res.status === 303 && res.headers.get('location')?.includes('error=temporarily_unavailable')), `status ${res.status}`);
  });

  t.test('recovers by itself when the database returns', async (t) => {
    await proxy.restore();
    const recovered = await waitFor(async () => (await post('/token', { grant_type: 'client_credentials', scope: 'api:read' })).status === 200, { timeoutMs: 10_000 });
    t.ok(recovered, 'tokens again without a restart');
    const introspected = await post('/token/introspection', { token }, basic('rs', SECRETS.rs));
    const body = await introspected.json() as Record<string, unknown>;
    t.equal(body.active, true, 'the token issued before the outage survived');
    t.equal(body.client_id, 'svc');
    t.equal((await fetch(`${issuer}/readyz`)).status, 200);
  });
}
