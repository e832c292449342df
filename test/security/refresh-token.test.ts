import t, { type Test } from 'tap';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { demoSetup, SECRETS } from '../helpers/setups.ts';
import {
  assertNoLeak, assertNoStore, assertOAuthError, introspect, isActive, postForm, refreshRequest, tokenRequest,
  type ClientCredentials, type OAuthResponse,
} from '../helpers/token-requests.ts';
import { lifetimeOver, nextSecond } from '../helpers/waiting.ts';

// SECURITY-CATALOG cases 32–41: refresh tokens (RFC 6749 §6, RFC 9700 §4.14, ASVS 10.4.5/10.4.8).

const server = await startLatchkey(t);
const { issuer, latchkey } = server;
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const WEB2: ClientCredentials = ['web2', SECRETS.web2];
const RS: ClientCredentials = ['rs', SECRETS.rs];

/** Every token, code and secret this file handles: none may reach an error body or the logs. */
const used = new Set<string>(Object.values(SECRETS));
const secrets = () => [...used];

async function signIn(options: Parameters<typeof codeFlow>[1] = {}, on = issuer) {
  const { tokens } = await codeFlow(on, options);
  for (const value of [tokens.access_token, tokens.refresh_token, tokens.id_token]) if (value) used.add(value);
  return tokens as typeof tokens & { refresh_token: string };
}

async function refreshed(t: Test, response: OAuthResponse): Promise<{ access_token: string; refresh_token: string; scope?: string }> {
  t.equal(response.status, 200, `refresh succeeds${response.status === 200 ? '' : ` (${response.text})`}`);
  assertNoStore(t, response);
  const body = response.json as { access_token: string; refresh_token: string; id_token?: string; scope?: string };
  for (const value of [body.access_token, body.refresh_token, body.id_token]) if (value) used.add(value);
  return body;
}

async function userinfoStatus(accessToken: string): Promise<number> {
  return (await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

t.test('case 32: replaying a rotated refresh token revokes the whole grant', async (t) => {
  const first = await signIn();
  const second = await refreshed(t, await refreshRequest(issuer, first.refresh_token, WEB1));
  t.ok(await isActive(issuer, second.refresh_token, RS), 'the new refresh token is live before the replay');

  const replay = await refreshRequest(issuer, first.refresh_token, WEB1);
  assertOAuthError(t, replay, 400, 'invalid_grant', secrets());

  for (const [label, token] of [
    ['old access token', first.access_token], ['new access token', second.access_token],
    ['old refresh token', first.refresh_token], ['new refresh token', second.refresh_token],
  ] as const) {
    const answer = await introspect(issuer, token, RS);
    t.same(answer.json, { active: false }, `${label} introspects exactly {"active":false}`);
  }
  t.equal(await userinfoStatus(second.access_token), 401, 'userinfo refuses the new access token');
  assertOAuthError(t, await refreshRequest(issuer, second.refresh_token, WEB1), 400, 'invalid_grant', secrets());
});

t.test('case 32 at once: one refresh token sent twelve times together, thirty times over: never a 5xx, at most one answer, the grant ends', async (t) => {
  // On PostgreSQL the requests that lost the race, and the ones that found the
  // token already consumed, all delete the grant at once; they deadlocked
  // (a 500) until every change to a grant's rows took the grant's lock first
  // (src/store/oidc-payload.repository.ts, grantLock).
  for (let round = 0; round < 30; round += 1) {
    const first = await signIn();
    const answers = await Promise.all(Array.from({ length: 12 }, () => refreshRequest(issuer, first.refresh_token, WEB1)));
    t.same(answers.filter((answer) => answer.status >= 500).map((answer) => answer.text), [], `round ${round}: no 5xx`);
    const won = answers.filter((answer) => answer.status === 200);
    t.ok(won.length <= 1, `round ${round}: ${won.length} answered with tokens`);
    for (const lost of answers.filter((answer) => answer.status !== 200)) t.equal(lost.json?.['error'], 'invalid_grant');
    for (const answer of won) t.same((await introspect(issuer, answer.json!['access_token'], RS)).json, { active: false }, 'the winner\'s tokens died with the grant');
    t.same((await introspect(issuer, first.access_token, RS)).json, { active: false });
  }
});

t.test('case 33: every refresh rotates, for confidential and public clients alike', async (t) => {
  const cases: { label: string; flow: Parameters<typeof codeFlow>[1]; refresh: (rt: string) => Promise<OAuthResponse> }[] = [
    { label: 'web1 (confidential)', flow: {}, refresh: (rt) => refreshRequest(issuer, rt, WEB1) },
    {
      label: 'spa1 (public)',
      // secret '' (not undefined, which would fall back to web1's default secret) selects auth method none.
      flow: { clientId: 'spa1', secret: '', redirectUri: 'https://spa.test/cb', scope: 'openid profile email' },
      refresh: (rt) => tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: rt, client_id: 'spa1' }),
    },
  ];
  for (const { label, flow, refresh } of cases) {
    const chain = [(await signIn(flow)).refresh_token];
    for (let i = 0; i < 3; i += 1) {
      const next = await refreshed(t, await refresh(chain.at(-1)!));
      t.notOk(chain.includes(next.refresh_token), `${label}: refresh ${i + 1} returns a new refresh token`);
      t.notOk(await isActive(issuer, chain.at(-1)!, RS), `${label}: the previous refresh token is consumed`);
      chain.push(next.refresh_token);
    }
    t.ok(await isActive(issuer, chain.at(-1)!, RS), `${label}: the newest refresh token is live`);
    assertOAuthError(t, await refresh(chain[1]!), 400, 'invalid_grant', secrets());
    t.notOk(await isActive(issuer, chain.at(-1)!, RS), `${label}: reusing a consumed one revoked the grant`);
  }
});

t.test('case 35: refresh asking for a wider scope → invalid_scope, refresh token untouched', async (t) => {
  const tokens = await signIn({ scope: 'openid profile' });
  const wider = await refreshRequest(issuer, tokens.refresh_token, WEB1, { scope: 'openid profile email' });
  assertOAuthError(t, wider, 400, 'invalid_scope', secrets());
  const foreign = await refreshRequest(issuer, tokens.refresh_token, WEB1, { scope: 'openid api:read' });
  assertOAuthError(t, foreign, 400, 'invalid_scope', secrets());
  t.ok(await isActive(issuer, tokens.refresh_token, RS), 'a refused refresh does not consume the token');
});

t.test('case 36: refresh with a narrower scope → reduced access token, the new refresh token keeps the original scope', async (t) => {
  const tokens = await signIn();
  const original = tokens.scope!;
  t.match(original, /\bemail\b/);
  const narrow = await refreshed(t, await refreshRequest(issuer, tokens.refresh_token, WEB1, { scope: 'openid profile' }));
  t.equal(narrow.scope, 'openid profile', 'the response names the reduced scope');
  t.equal((await introspect(issuer, narrow.access_token, RS)).json?.['scope'], 'openid profile', 'the access token has the reduced scope');
  t.equal((await introspect(issuer, narrow.refresh_token, RS)).json?.['scope'], original, 'the refresh token keeps the original scope');
  const full = await refreshed(t, await refreshRequest(issuer, narrow.refresh_token, WEB1));
  t.equal(full.scope, original, 'a later refresh can ask for the original scope again');
});

t.test("case 37: web1's refresh token presented by an authenticated web2 → invalid_grant", async (t) => {
  const tokens = await signIn();
  assertOAuthError(t, await refreshRequest(issuer, tokens.refresh_token, WEB2), 400, 'invalid_grant', secrets());
  // Product behaviour (oidc-provider's): the mismatch is refused before the token is consumed,
  // so another client cannot burn web1's token by presenting it.
  await refreshed(t, await refreshRequest(issuer, tokens.refresh_token, WEB1));
});

t.test('case 38: refresh without client authentication (confidential client) → no tokens', async (t) => {
  const tokens = await signIn();
  const idOnly = await tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: 'web1' });
  assertOAuthError(t, idOnly, 401, 'invalid_client', secrets());
  const nothing = await tokenRequest(issuer, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
  assertOAuthError(t, nothing, 400, 'invalid_request', secrets());
  t.equal(nothing.json?.['error_description'], 'no client authentication mechanism provided');
  t.ok(await isActive(issuer, tokens.refresh_token, RS), 'the refresh token was not consumed');
});

t.test('case 39: an expired refresh token → invalid_grant', async (t) => {
  const short = await startLatchkey(t, { setup: demoSetup({ ttl: { refresh_token: 1 } }) });
  const tokens = await signIn({}, short.issuer);
  // The token's lifetime runs on oidc-provider's clock and the database's, which no test can move.
  await lifetimeOver(Date.now(), 1);
  assertOAuthError(t, await refreshRequest(short.issuer, tokens.refresh_token, WEB1), 400, 'invalid_grant', secrets());
  assertNoLeak(t, short.logs.join(''), secrets(), 'the logs');
});

t.test('case 39: rotation does not extend a refresh token past the original one', async (t) => {
  // Default lifetimes: refresh token = grant = 14 days, so the first refresh
  // token already runs to the absolute cap; a rotated one must not outlive it.
  const tokens = await signIn();
  const originalExp = (await introspect(issuer, tokens.refresh_token, WEB1)).json?.['exp'] as number;
  t.type(originalExp, 'number');
  // An extension would show as a later exp once the engine's clock (whole seconds) has moved on.
  await nextSecond();
  const rotated = await refreshed(t, await refreshRequest(issuer, tokens.refresh_token, WEB1));
  const rotatedExp = (await introspect(issuer, rotated.refresh_token, WEB1)).json?.['exp'] as number;
  t.ok(rotatedExp <= originalExp, `rotated exp ${rotatedExp} ≤ original exp ${originalExp}`);
});

t.test('case 39: the absolute lifetime (the grant) ends a refresh token that kept rotating', async (t) => {
  const capped = await startLatchkey(t, { setup: demoSetup({ ttl: { grant: 4 } }) });
  const tokens = await signIn({}, capped.issuer);
  const signedInAt = Date.now();
  let latest = tokens.refresh_token;
  for (let i = 0; i < 2; i += 1) latest = (await refreshed(t, await refreshRequest(capped.issuer, latest, WEB1))).refresh_token;
  // The grant began before signIn returned; its 4 s run on clocks no test can move.
  await lifetimeOver(signedInAt, 4);
  assertOAuthError(t, await refreshRequest(capped.issuer, latest, WEB1), 400, 'invalid_grant', secrets());
  t.same((await introspect(capped.issuer, latest, WEB1)).json, { active: false }, 'and it introspects inactive');
  assertNoLeak(t, capped.logs.join(''), secrets(), 'the logs');
});

t.test('case 40: disabling, re-passwording or removing the user ends refresh and access', async (t) => {
  const accounts = latchkey.services.accounts;
  const changes: [string, () => Promise<void>, () => Promise<void>][] = [
    ['disabled', () => accounts.setDisabled('default', 'alice', true), () => accounts.setDisabled('default', 'alice', false)],
    // The product revokes on credential change (ASVS 7.4.2/7.4.3): README "Users".
    ['password reset', () => accounts.setPassword('default', 'alice', 'new-password-123'), () => accounts.setPassword('default', 'alice', SECRETS.alice)],
    ['removed', () => accounts.remove('default', 'alice'), async () => {
      await accounts.create('default', { username: 'alice', password: SECRETS.alice, email: 'alice@example.test', email_verified: true });
    }],
  ];
  for (const [label, change, undo] of changes) {
    const tokens = await signIn();
    t.ok(await isActive(issuer, tokens.access_token, RS), `${label}: access token live before`);
    await change();
    try {
      assertOAuthError(t, await refreshRequest(issuer, tokens.refresh_token, WEB1), 400, 'invalid_grant', secrets());
      t.same((await introspect(issuer, tokens.access_token, RS)).json, { active: false }, `${label}: access token inactive`);
      t.equal(await userinfoStatus(tokens.access_token), 401, `${label}: userinfo refuses the access token`);
    } finally {
      await undo();
    }
  }
  used.add('new-password-123');
});

t.test('case 41: refresh token as a Bearer header instead of the body → invalid_request', async (t) => {
  const tokens = await signIn();
  const bearer = await tokenRequest(issuer, { grant_type: 'refresh_token' }, { authorization: `Bearer ${tokens.refresh_token}` });
  assertOAuthError(t, bearer, 400, 'invalid_request', secrets());
  const bearerWithClient = await tokenRequest(issuer, { grant_type: 'refresh_token', client_id: 'spa1' }, { authorization: `Bearer ${tokens.refresh_token}` });
  assertOAuthError(t, bearerWithClient, 400, 'invalid_request', secrets());
  // Authenticated, with the token only in the query string: the grant parameter is missing.
  const inQuery = await postForm(`${issuer}/token?refresh_token=${tokens.refresh_token}`, { grant_type: 'refresh_token' }, { basic: WEB1 });
  assertOAuthError(t, inQuery, 400, 'invalid_request', secrets());
  t.match(inQuery.json?.['error_description'], /refresh_token/, 'names the missing parameter');
  t.ok(await isActive(issuer, tokens.refresh_token, RS), 'the refresh token was not consumed');
});

t.test('no token, code or secret of this file reached the logs', async (t) => {
  t.ok(used.size > 20, `${used.size} values checked`);
  assertNoLeak(t, server.logs.join(''), secrets(), 'the logs');
});
