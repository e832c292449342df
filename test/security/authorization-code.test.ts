import t, { type Test } from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { demoSetup, SECRETS } from '../helpers/setups.ts';
import {
  assertNoLeak, assertOAuthError, authorizationCode, introspect, sleep, tokenRequest,
  type ClientCredentials, type OAuthResponse,
} from '../helpers/token-requests.ts';
import { lifetimeOver } from '../helpers/waiting.ts';

// SECURITY-CATALOG cases 26–30: authorization codes (RFC 6749 §4.1.2/§10.5,
// ASVS 10.4.2/10.4.3): single use, bound to the client, short-lived.

const server = await startLatchkey(t);
const { issuer } = server;
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const WEB2: ClientCredentials = ['web2', SECRETS.web2];
const RS: ClientCredentials = ['rs', SECRETS.rs];
const used = new Set<string>(Object.values(SECRETS));

async function newCode(on = issuer) {
  const code = await authorizationCode(on, { scope: 'openid offline_access' });
  used.add(code.code);
  used.add(code.verifier);
  return code;
}

function redeem(on: string, { code, verifier, redirectUri }: Awaited<ReturnType<typeof newCode>>, asClient: ClientCredentials = WEB1): Promise<OAuthResponse> {
  return tokenRequest(on, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri }, { basic: asClient });
}

function tokensOf(t: Test, response: OAuthResponse): { access_token: string; refresh_token: string } {
  t.equal(response.status, 200, `tokens issued${response.status === 200 ? '' : ` (${response.text})`}`);
  const body = response.json as { access_token: string; refresh_token: string; id_token: string };
  for (const value of [body.access_token, body.refresh_token, body.id_token]) used.add(value);
  return body;
}

async function assertGrantRevoked(t: Test, tokens: { access_token: string; refresh_token: string }): Promise<void> {
  t.same((await introspect(issuer, tokens.access_token, RS)).json, { active: false }, 'the first access token is inactive');
  t.same((await introspect(issuer, tokens.refresh_token, RS)).json, { active: false }, 'the first refresh token is inactive');
  const userinfo = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
  t.equal(userinfo.status, 401, 'userinfo refuses the access token');
  await userinfo.body?.cancel();
}

t.test('case 26: a code redeemed twice → invalid_grant, and the first tokens are revoked', async (t) => {
  const code = await newCode();
  const first = tokensOf(t, await redeem(issuer, code));
  t.equal((await introspect(issuer, first.access_token, RS)).json?.['active'], true, 'control: active before the replay');
  assertOAuthError(t, await redeem(issuer, code), 400, 'invalid_grant', [...used]);
  await assertGrantRevoked(t, first);
});

t.test('case 27: the same when the replay comes later', async (t) => {
  // oidcc-codereuse-30seconds waits 30 s; what matters is that the replay
  // comes after the first redemption has finished and been stored, which a
  // pause shows as well as thirty seconds (the code's TTL is 60 s) once it
  // outlasts what the process keeps in memory (a Grant read with a token is
  // reused for 250 ms, src/oidc/payload-lookups.ts) and reaches into another
  // second of the engine's whole-second timestamps: a little over one second.
  const code = await newCode();
  const first = tokensOf(t, await redeem(issuer, code));
  await sleep(1100);
  assertOAuthError(t, await redeem(issuer, code), 400, 'invalid_grant', [...used]);
  await assertGrantRevoked(t, first);
});

t.test('case 26 (concurrent): of simultaneous redemptions at most one succeeds, and the grant ends revoked', async (t) => {
  const code = await newCode();
  const answers = await Promise.all(Array.from({ length: 5 }, () => redeem(issuer, code)));
  const winners = answers.filter((a) => a.status === 200);
  t.ok(winners.length <= 1, `${winners.length} succeeded`);
  for (const loser of answers.filter((a) => a.status !== 200)) assertOAuthError(t, loser, 400, 'invalid_grant', [...used]);
  for (const winner of winners) await assertGrantRevoked(t, tokensOf(t, winner));
});

t.test('case 28: web1\'s code redeemed by web2 → invalid_grant; web1 can still redeem it', async (t) => {
  const code = await newCode();
  assertOAuthError(t, await redeem(issuer, code, WEB2), 400, 'invalid_grant', [...used]);
  tokensOf(t, await redeem(issuer, code, WEB1));
});

t.test('case 29: a code used after its lifetime → invalid_grant', async (t) => {
  const short = await startLatchkey(t, { setup: demoSetup({ ttl: { authorization_code: 1 } }) });
  const code = await newCode(short.issuer);
  // The code's lifetime runs on oidc-provider's clock and the database's, which no test can move.
  await lifetimeOver(Date.now(), 1);
  assertOAuthError(t, await redeem(short.issuer, code), 400, 'invalid_grant', [...used]);
  assertNoLeak(t, short.logs.join(''), [...used], 'the logs');
});

t.test('case 30: garbage, huge or empty codes → 400, never a 5xx', async (t) => {
  const codes = ['garbage', 'x'.repeat(10 * 1024), '', '%00', '\u0000abc', '../../etc/passwd', '{"$ne":null}', "' or 1=1 --"];
  for (const code of codes) {
    const answer = await tokenRequest(issuer, { grant_type: 'authorization_code', code, code_verifier: 'a'.repeat(43), redirect_uri: 'https://app.test/cb' }, { basic: WEB1 });
    t.equal(answer.status, 400, `HTTP 400 for ${JSON.stringify(code.slice(0, 12))}`);
    t.ok(['invalid_grant', 'invalid_request'].includes(String(answer.json?.['error'])), `an OAuth error (${String(answer.json?.['error'])})`);
    t.notOk(answer.json?.['access_token'], 'no token');
  }
  const missing = await tokenRequest(issuer, { grant_type: 'authorization_code', redirect_uri: 'https://app.test/cb' }, { basic: WEB1 });
  assertOAuthError(t, missing, 400, 'invalid_request');
});

t.test('no code, token or secret reached the logs', async (t) => {
  assertNoLeak(t, server.logs.join(''), [...used], 'the logs');
});
