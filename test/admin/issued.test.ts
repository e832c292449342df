import { createHash } from 'node:crypto';
import t from 'tap';
import { codeFlow } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';
import { assertNoLeak, isActive, refreshRequest, tokenRequest, type ClientCredentials } from '../helpers/token-requests.ts';
import { startAdmin } from './admin-setup.ts';

// Tokens, consents and sessions through the admin API: listed as metadata
// only, revoked one at a time or all of a client's or user's, with the
// engine agreeing afterwards (introspection, refresh). The races run on
// both databases; on PostgreSQL they are real races.
const admin = await startAdmin(t);
const token = admin.tokens.full;
const call = (method: string, path: string, body?: unknown) => admin.call(method, path, { token, body });
const RS: ClientCredentials = ['rs', SECRETS.rs];
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const active = (value: string) => isActive(admin.issuer, value, RS);
const digest = (value: string) => createHash('sha256').update(value).digest('base64url');

async function serviceToken(): Promise<string> {
  const response = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  if (response.status !== 200) throw new Error(`client credentials: ${response.status} ${response.text}`);
  return String(response.json!['access_token']);
}

async function signIn(clientId: 'web1' | 'web2', scope = 'openid profile email offline_access') {
  const secret = clientId === 'web1' ? SECRETS.web1 : SECRETS.web2;
  const redirectUri = clientId === 'web1' ? 'https://app.test/cb' : 'https://app2.test/cb';
  // offline_access is granted only with prompt=consent (OpenID Connect Core §11).
  const parameters: Record<string, string> = scope.includes('offline_access') ? { prompt: 'consent' } : {};
  const { tokens, browser } = await codeFlow(admin.issuer, { clientId, secret, redirectUri, scope, parameters });
  return { access: tokens.access_token, refresh: tokens.refresh_token, browser };
}

/** Every item of a list, page by page with `limit`. */
async function all(path: string, limit = 200): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await call('GET', `${path}${separator}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (page.status !== 200) throw new Error(`${path}: ${page.status} ${page.text}`);
    items.push(...page.json.items);
    cursor = page.json.next_cursor;
  } while (cursor);
  return items;
}

t.test('a user\'s and a client\'s live tokens are listed as metadata, never as values or digests', async (t) => {
  const web1 = await signIn('web1');
  const web2 = await signIn('web2', 'openid profile');
  const svc = await serviceToken();

  const alice = await call('GET', '/v1/realms/default/tokens?user=alice');
  t.equal(alice.status, 200);
  const kinds = alice.json.items.map((item: any) => `${item.client_id}:${item.kind}`).sort();
  // Refresh tokens without offline_access: IFS's and Keycloak's behaviour (refresh_token_requires_offline_access: false).
  t.same(kinds, ['web1:access_token', 'web1:refresh_token', 'web2:access_token', 'web2:refresh_token'], 'both clients\' tokens of alice, nothing else');
  const web1Access = alice.json.items.find((item: any) => item.client_id === 'web1' && item.kind === 'access_token');
  t.match(web1Access, {
    format: 'opaque', user_id: String, username: 'alice', scopes: ['openid', 'profile', 'email', 'offline_access'],
    consent_id: String, issued_at: String, expires_at: String,
  });
  t.ok(Date.parse(web1Access.expires_at) > Date.now(), 'expires in the future');
  const secrets = [web1.access, web1.refresh!, web2.access, web2.refresh!, svc].flatMap((value) => [value, digest(value)]);
  assertNoLeak(t, alice.text, secrets);

  const service = await call('GET', '/v1/realms/default/tokens?client_id=svc&kind=client_credentials');
  t.equal(service.status, 200);
  t.ok(service.json.items.length >= 2, 'svc\'s tokens (the test\'s and the not-admin one)');
  t.ok(service.json.items.every((item: any) => item.kind === 'client_credentials' && item.user_id === null && item.consent_id === null));
  assertNoLeak(t, service.text, secrets);

  t.test('pages of one cover the same items, each once, with stable ids', async (t) => {
    const whole = await all('/v1/realms/default/tokens');
    const paged = await all('/v1/realms/default/tokens', 1);
    t.same(paged.map((item) => item.id).sort(), whole.map((item) => item.id).sort());
    t.equal(new Set(paged.map((item) => item.id)).size, paged.length, 'no item twice');
  });

  t.test('filters are checked: an unknown user is a 404, a made-up cursor a 400', async (t) => {
    t.equal((await call('GET', '/v1/realms/default/tokens?user=nobody-here')).status, 404);
    t.equal((await call('GET', '/v1/realms/default/tokens?kind=id_token')).status, 400);
    const forged = `k1.${Buffer.from('not-a-handle').toString('base64url')}`;
    t.equal((await call('GET', `/v1/realms/default/tokens?cursor=${forged}`)).status, 400);
  });

  t.test('revoking an access token revokes it alone; a refresh token takes its whole consent', async (t) => {
    const items = (await call('GET', '/v1/realms/default/tokens?client_id=web1&user=alice')).json.items as any[];
    const access = items.find((item) => item.kind === 'access_token');
    const refresh = items.find((item) => item.kind === 'refresh_token');
    t.equal((await call('DELETE', `/v1/realms/default/tokens/${access.id}`)).status, 204);
    t.notOk(await active(web1.access), 'the access token is inactive');
    t.ok(await active(web1.refresh!), 'its refresh token is not');
    t.equal((await call('DELETE', `/v1/realms/default/tokens/${access.id}`)).status, 404, 'a second time: not found');

    t.equal((await call('DELETE', `/v1/realms/default/tokens/${refresh.id}`)).status, 204);
    t.notOk(await active(web1.refresh!));
    const refreshed = await refreshRequest(admin.issuer, web1.refresh!, WEB1);
    t.equal(refreshed.json?.['error'], 'invalid_grant', 'the engine agrees');
    t.ok(await active(web2.access), 'the other client\'s token stays');
  });

  t.test('an id is good in its realm only, and a made-up one is a 404', async (t) => {
    const [item] = (await call('GET', '/v1/realms/default/tokens?client_id=svc')).json.items as any[];
    t.equal((await call('DELETE', `/v1/realms/acme/tokens/${item.id}`)).status, 404, 'another realm');
    t.equal((await call('DELETE', `/v1/realms/default/tokens/${item.id.slice(0, -2)}AA`)).status, 404, 'tampered');
    t.equal((await call('DELETE', '/v1/realms/default/tokens/bm90LWEtaGFuZGxl')).status, 404, 'made up');
    t.equal((await call('DELETE', `/v1/realms/default/consents/${item.id}`)).status, 404, 'a token id is no consent id');
  });
});

t.test('revoking all of a user\'s tokens answers the count; the engine agrees; other users and sessions are untouched', async (t) => {
  const first = await signIn('web1');
  const second = await signIn('web2');
  const svc = await serviceToken();
  const listed = (await all('/v1/realms/default/tokens?user=alice')).length;
  const revoked = await call('DELETE', '/v1/realms/default/users/alice/tokens');
  t.equal(revoked.status, 200);
  t.equal(revoked.json.revoked, listed, 'as many as were listed');
  for (const value of [first.access, first.refresh!, second.access, second.refresh!]) t.notOk(await active(value));
  t.ok(await active(svc), 'a client\'s own token stays');
  t.same(await all('/v1/realms/default/tokens?user=alice'), []);
  t.ok((await all('/v1/realms/default/sessions?user=alice')).length >= 2, 'her sessions stay');
  t.same((await call('DELETE', '/v1/realms/default/users/alice/tokens')).json, { revoked: 0 }, 'again: none left');
  t.equal((await call('DELETE', '/v1/realms/default/users/nobody-here/tokens')).status, 404);
});

t.test('revoking all of a client\'s tokens', async (t) => {
  const values = await Promise.all([serviceToken(), serviceToken(), serviceToken()]);
  const user = await signIn('web1');
  const listed = (await all('/v1/realms/default/tokens?client_id=svc')).length;
  const revoked = await call('DELETE', '/v1/realms/default/clients/svc/tokens');
  t.equal(revoked.status, 200);
  t.equal(revoked.json.revoked, listed);
  for (const value of values) t.notOk(await active(value));
  t.ok(await active(user.access), 'another client\'s tokens stay');
  t.equal((await call('DELETE', '/v1/realms/default/clients/no-such-client/tokens')).status, 404);
});

t.test('consents: listed with their scopes; withdrawing one revokes its tokens; all of a user\'s at once', async (t) => {
  await call('DELETE', '/v1/realms/default/users/alice/consents');
  const web1 = await signIn('web1');
  const web2 = await signIn('web2', 'openid email');
  const consents = await all('/v1/realms/default/consents?user=alice');
  t.same(consents.map((consent) => consent.client_id).sort(), ['web1', 'web2']);
  const ofWeb2 = consents.find((consent) => consent.client_id === 'web2');
  t.same(ofWeb2.scopes, ['openid', 'email']);
  t.match(ofWeb2, { username: 'alice', issued_at: String });
  t.same((await all('/v1/realms/default/consents?client_id=web2')).map((consent) => consent.id), [ofWeb2.id], 'by client');

  t.equal((await call('DELETE', `/v1/realms/default/consents/${ofWeb2.id}`)).status, 204);
  t.notOk(await active(web2.access), 'its token is revoked');
  t.ok(await active(web1.access), 'the other consent\'s token is not');
  t.equal((await call('DELETE', `/v1/realms/default/consents/${ofWeb2.id}`)).status, 404);

  const withdrawn = await call('DELETE', '/v1/realms/default/users/alice/consents');
  t.same(withdrawn.json, { withdrawn: 1 });
  t.notOk(await active(web1.access));
  t.notOk(await active(web1.refresh!));
});

t.test('sessions: listed with their clients; ending one ends the consents that do not outlive it', async (t) => {
  await call('DELETE', '/v1/realms/default/users/alice/sessions');
  const online = await signIn('web1', 'openid profile');
  const offline = await signIn('web2', 'openid offline_access');
  const sessions = await all('/v1/realms/default/sessions?user=alice');
  t.equal(sessions.length, 2, 'one per sign-in (two browsers)');
  t.ok(sessions.every((session) => session.username === 'alice' && session.signed_in_at && session.amr.length > 0));
  const ofOnline = sessions.find((session) => session.clients.includes('web1'));
  t.equal((await call('DELETE', `/v1/realms/default/sessions/${ofOnline.id}`)).status, 204);
  t.notOk(await active(online.access), 'a token of a consent that ends with the session');
  const follow = await online.browser.follow(`${admin.issuer}/auth?client_id=web1&response_type=code&scope=openid&redirect_uri=https://app.test/cb&prompt=none&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`);
  t.match(follow.url, /error=login_required/, 'the browser is signed out');

  const ended = await call('DELETE', '/v1/realms/default/users/alice/sessions');
  t.same(ended.json, { ended: 1 });
  t.ok(await active(offline.refresh!), 'offline access outlives the session, as at logout');
  t.same(await all('/v1/realms/default/sessions?user=alice'), []);
});

t.test('a disabled client is unknown at once and its tokens are revoked; enabled, it works again', async (t) => {
  const before = await serviceToken();
  const disabled = await call('PATCH', '/v1/realms/default/clients/svc', { disabled: true });
  t.equal(disabled.status, 200);
  t.equal(disabled.json.disabled, true);
  t.notOk(await active(before), 'its token is revoked');
  const refused = await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });
  t.equal(refused.status, 401, 'no new token, at once (this instance\'s client cache was told)');
  t.equal(refused.json?.['error'], 'invalid_client');
  t.equal((await call('PATCH', '/v1/realms/default/clients/svc', { disabled: false })).json.disabled, false);
  t.ok(await active(await serviceToken()), 'enabled again');
  t.equal((await call('PATCH', '/v1/realms/default/clients/svc', { disabled: 'yes' })).status, 400);
  t.equal((await call('PATCH', '/v1/realms/default/clients/svc', { client_name: 'x' })).status, 400, 'only the state');
  t.equal((await call('PATCH', '/v1/realms/default/clients/no-such-client', { disabled: true })).status, 404);
});

t.test('secret rotation: the new secret once, the old one for the overlap, then neither twice', async (t) => {
  const credentialsWork = async (secret: string) =>
    (await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', secret] })).status === 200;
  const kept = await serviceToken();
  const rotated = await call('POST', '/v1/realms/default/clients/svc/secret', { overlap_seconds: 3600 });
  t.equal(rotated.status, 200);
  const first = rotated.json.client_secret as string;
  t.match(first, /^[A-Za-z0-9_-]{43}$/);
  t.equal(rotated.json.secret_storage, 'hmac-sha256');
  t.ok(Date.parse(rotated.json.previous_secret_expires_at) > Date.now() + 3500_000, 'the overlap is shown');
  t.ok(await credentialsWork(first), 'the new secret works at once');
  t.ok(await credentialsWork(SECRETS.svc), 'the old one during the overlap');
  t.ok(await active(kept), 'tokens stay');
  const read = await call('GET', '/v1/realms/default/clients/svc');
  assertNoLeak(t, read.text, [first, SECRETS.svc, '$hmac', '$argon2']);
  t.notOk('latchkey_previous_secret' in read.json);

  const second = (await call('POST', '/v1/realms/default/clients/svc/secret', { overlap_seconds: 0 })).json;
  t.equal(second.previous_secret_expires_at, null);
  t.ok(await credentialsWork(second.client_secret), 'the newest works');
  t.notOk(await credentialsWork(first), 'overlap 0: the one before is gone at once');
  t.notOk(await credentialsWork(SECRETS.svc), 'and the one before that');

  // Three seconds: room for a busy machine between the rotation and the check within it (with one, CI once missed it).
  const short = (await call('POST', '/v1/realms/default/clients/svc/secret', { overlap_seconds: 3 })).json;
  t.ok(await credentialsWork(second.client_secret), 'within a three-second overlap');
  // Until the end the server answered, and a little more.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(short.previous_secret_expires_at) + 300 - Date.now())));
  t.notOk(await credentialsWork(second.client_secret), 'after it: refused');
  t.ok(await credentialsWork(short.client_secret));

  t.equal((await call('POST', '/v1/realms/default/clients/spa1/secret', {})).status, 409, 'a public client has no secret to rotate');
  t.equal((await call('POST', '/v1/realms/default/clients/svc/secret', { overlap_seconds: -1 })).status, 400);
  t.equal((await call('POST', '/v1/realms/default/clients/no-such-client/secret', {})).status, 404);
  // Put svc's declared secret back for the tests after this one.
  await call('PUT', '/v1/realms/default/clients/svc', (({ client_id: _, ...rest }) => rest)((await call('GET', '/v1/realms/default/clients/svc')).json));
});
