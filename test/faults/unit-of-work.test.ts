import pg from 'pg';
import t, { type Test } from 'tap';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browserless.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { discover } from '../helpers/relying-party.ts';
import { demoSetupDocument, parseSetup, SECRETS } from '../helpers/setups.ts';
import {
  authorizationCode, introspect, postForm, refreshRequest, revoke, tokenRequest, type OAuthResponse,
} from '../helpers/token-requests.ts';
import { proxiedDatabase } from '../helpers/proxied-database.ts';
import { waitFor } from '../helpers/waiting.ts';

// DESIGN decision 10, README "Database outage": every write of a request
// commits together or not at all. A fault is injected before each statement
// of a refresh, a code redemption, a client_credentials grant and a
// revocation in turn (the proxy drops the connection instead of delivering
// it); each time the answer is 503, nothing is left half-written, and the
// same refresh token or code still works when the client retries.
const proxied = await proxiedDatabase(t);
if (!proxied) {
  t.plan(0, 'no PostgreSQL server reachable to inject faults into');
} else {
  const { proxy, databaseUrl } = proxied;
  const viaProxy = proxied.viaProxy;

  // The test's own view of the database, past the proxy.
  const inspector = new pg.Client({ connectionString: databaseUrl });
  await inspector.connect();
  t.teardown(() => inspector.end());

  // The demo setup, plus a password-grant client and an API with JWT access tokens (issue 10).
  const ORDERS = 'https://orders.example.com';
  const setup = demoSetupDocument();
  setup.realms[0]!['resource_servers'] = [{ identifier: ORDERS, scopes: ['orders:read'] }];
  setup.realms[0]!.clients!.push({
    client_id: 'pwd-app', client_secret: 'pwd-app-secret-for-tests', token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['password', 'refresh_token'], response_types: [], redirect_uris: [], post_logout_redirect_uris: [],
    scope: 'openid orders:read roles', default_resource: ORDERS,
  });
  // The same clients and users in Keycloak's layout (issue 11): JWT access tokens by default, JWT-shaped refresh tokens.
  const { name: _name, ...demoRealm } = setup.realms[0]!;
  setup.realms.push({ ...demoRealm, name: 'ifs', layout: 'keycloak' });
  // No audit events: their batches, written on the same pool a little later, would take a counted statement (see
  // test/faults/admin-unit-of-work.test.ts); audit writes under outages are tested in test/audit/audit-outage.test.ts.
  const { issuer } = await startLatchkey(t, { databaseUrl: viaProxy, setup: parseSetup(setup), env: { LATCHKEY_AUDIT: 'off' } });
  const web1 = ['web1', SECRETS.web1] as const;
  const svc = ['svc', SECRETS.svc] as const;
  const rs = ['rs', SECRETS.rs] as const;

  /** What the database holds: every row of the realm with model and consumption, ids being digests. */
  const snapshot = async () => (await inspector.query<{ model: string; id: string; grant_id: string | null; consumed: boolean }>(
    `select model, id, grant_id, consumed_at is not null as consumed from oidc_payloads
      where model not in ('Session', 'Interaction') order by model, id`)).rows;

  async function ready(): Promise<void> {
    if (!await waitFor(async () => (await fetch(`${issuer}/readyz`)).status === 200, { timeoutMs: 10_000 })) {
      throw new Error('the server did not become ready again');
    }
  }

  /**
   * Sends `attempt` with a fault armed at its n-th statement, for n = 1, 2, …
   * until it succeeds. Each failed attempt must answer 503 with Retry-After
   * and leave the database exactly as it was.
   */
  async function faultAtEveryStatement(t: Test, attempt: () => Promise<OAuthResponse>): Promise<{ faults: number; response: OAuthResponse }> {
    for (let n = 1; n <= 40; n += 1) {
      await ready();
      const before = await snapshot();
      let fired = false;
      proxy.failAtStatement(n, () => { fired = true; });
      const response = await attempt();
      proxy.disarm();
      if (!fired) {
        t.equal(response.status, 200, `with no fault left to fire (statement ${n}), it succeeds`);
        return { faults: n - 1, response };
      }
      t.equal(response.status, 503, `fault at statement ${n}: 503`);
      t.equal(response.json?.error, 'temporarily_unavailable', `fault at statement ${n}: temporarily_unavailable`);
      t.ok(Number(response.headers.get('retry-after')) > 0, `fault at statement ${n}: Retry-After`);
      await proxy.restore();
      t.same(await snapshot(), before, `fault at statement ${n}: nothing was written`);
    }
    throw new Error('the request never succeeded');
  }

  t.test('refresh: a fault at any statement leaves the refresh token usable and nothing half-written', async (t) => {
    const { code, verifier, redirectUri } = await authorizationCode(issuer, { scope: 'openid profile offline_access' });
    const first = await tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: web1 });
    t.equal(first.status, 200);
    const refreshToken = first.json!.refresh_token as string;
    t.ok(refreshToken, 'a refresh token to rotate');

    const { faults, response } = await faultAtEveryStatement(t, () => refreshRequest(issuer, refreshToken, web1));
    t.ok(faults >= 4, `faults were injected at ${faults} statements (lookups, consume, both inserts, commit)`);
    t.ok(response.json?.refresh_token && response.json.refresh_token !== refreshToken, 'the retry rotated the refresh token');
    t.equal((await introspect(issuer, first.json!.access_token, rs)).json?.active, true, 'the grant was never revoked: the first access token is active');
    t.equal((await introspect(issuer, response.json!.access_token, rs)).json?.active, true, 'the new access token is active');
    t.equal((await refreshRequest(issuer, response.json!.refresh_token, web1)).status, 200, 'the new refresh token works');
  });

  t.test('code redemption: a fault at any statement leaves the code redeemable and no token stored', async (t) => {
    const { code, verifier, redirectUri } = await authorizationCode(issuer, { scope: 'openid profile offline_access' });
    const { faults, response } = await faultAtEveryStatement(t, () =>
      tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: web1 }));
    t.ok(faults >= 3, `faults were injected at ${faults} statements`);
    t.ok(response.json?.access_token && response.json.refresh_token && response.json.id_token, 'the retry got every token');
    t.equal((await introspect(issuer, response.json!.access_token, rs)).json?.active, true);
    const replay = await tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: web1 });
    t.equal(replay.json?.error, 'invalid_grant', 'once redeemed, the code is spent');
  });

  t.test('consent: a fault at any statement stores no Grant and leaves the consent to be given again', async (t) => {
    const browser = new Browser(issuer);
    const config = await discover(issuer, 'web1', SECRETS.web1);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: 'https://app.test/cb',
      scope: 'openid profile offline_access',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const { url: loginUrl } = await browser.follow(url.href);
    const { url: consentUrl, response: consentPage } = await browser.follow(`${new URL(loginUrl).pathname}/login`, { method: 'POST', form: { login: 'alice', password: SECRETS.alice } });
    t.match(await consentPage.text(), /\/confirm"/, 'at the consent page');
    const confirm = `${new URL(consentUrl).pathname}/confirm`;
    for (let n = 1; n <= 40; n += 1) {
      await ready();
      const before = await snapshot();
      let fired = false;
      proxy.failAtStatement(n, () => { fired = true; });
      const response = await browser.request(confirm, { method: 'POST', form: {} });
      proxy.disarm();
      if (!fired) {
        t.equal(response.status, 303, `with no fault left to fire (statement ${n}), the consent is stored`);
        t.ok(n > 2, `faults were injected at ${n - 1} statements`);
        const { url: callback } = await browser.follow(response.headers.get('location')!);
        t.match(callback, /^https:\/\/app\.test\/cb\?code=/, 'and the flow completes');
        return;
      }
      t.equal(response.status, 503, `fault at statement ${n}: 503`);
      t.match(response.headers.get('content-type'), /text\/html/, `fault at statement ${n}: a page for the person`);
      await proxy.restore();
      t.same(await snapshot(), before, `fault at statement ${n}: no Grant stored`);
    }
    t.fail('the consent never succeeded');
  });

  t.test('client credentials and revocation: a fault at their write answers 503 and changes nothing', async (t) => {
    const { faults, response } = await faultAtEveryStatement(t, () => tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: svc }));
    t.ok(faults >= 1, `faults were injected at ${faults} statements`);
    const token = response.json!.access_token as string;
    const revoked = await faultAtEveryStatement(t, () => revoke(issuer, token, svc));
    t.ok(revoked.faults >= 1, 'revocation was faulted at its delete');
    t.equal((await introspect(issuer, token, rs)).json?.active, false, 'revoked once the database was back');
  });

  t.test('Keycloak layout: a refresh (JWT refresh token, JWT access token with the account\'s claims) faulted at any statement', async (t) => {
    const realm = `${issuer}/realms/ifs`;
    const tokenEndpoint = `${realm}/protocol/openid-connect/token`;
    const { code, verifier, redirectUri } = await authorizationCode(realm, { scope: 'openid profile offline_access' });
    const first = await postForm(tokenEndpoint, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: web1 });
    t.equal(first.status, 200);
    const refreshToken = first.json!.refresh_token as string;
    const { faults, response } = await faultAtEveryStatement(t, () => postForm(tokenEndpoint, { grant_type: 'refresh_token', refresh_token: refreshToken }, { basic: web1 }));
    t.ok(faults >= 4, `faults were injected at ${faults} statements`);
    t.match(response.json, { token_type: 'Bearer', 'not-before-policy': 0 });
    t.equal(response.json!.refresh_token.split('.').length, 3, 'the new refresh token in its JWT form');
    const introspection = `${realm}/protocol/openid-connect/token/introspect`;
    t.equal((await postForm(introspection, { token: first.json!.access_token }, { basic: rs })).json?.active, true, 'the grant was never revoked');
    t.equal((await postForm(introspection, { token: response.json!.access_token }, { basic: rs })).json?.active, true, 'the new access token is active');
    t.equal((await postForm(tokenEndpoint, { grant_type: 'refresh_token', refresh_token: response.json!.refresh_token }, { basic: web1 })).status, 200, 'the new refresh token works');
  });

  t.test('password grant with a JWT access token: a fault at any statement answers 503, stores nothing and counts no failure', async (t) => {
    const pwdApp = ['pwd-app', 'pwd-app-secret-for-tests'] as const;
    const { faults, response } = await faultAtEveryStatement(t, () => tokenRequest(issuer, {
      grant_type: 'password', username: 'alice', password: SECRETS.alice, scope: 'openid orders:read roles',
    }, { basic: pwdApp }));
    // The sign-in brakes allow 10 failures per account and address: had a fault counted as one, the retry would be braked.
    t.ok(faults >= 4, `faults were injected at ${faults} statements (lookups, grant, token, refresh token, commit)`);
    t.ok(response.json?.access_token && response.json.refresh_token && response.json.id_token, 'the retry got every token');
    t.equal((await introspect(issuer, response.json!.access_token as string, rs)).json?.active, true, 'its JWT access token introspects active');
    t.equal((await refreshRequest(issuer, response.json!.refresh_token as string, pwdApp)).status, 200, 'its refresh token works');
  });
}
