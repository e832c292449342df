import t from 'tap';
import { codeFlow } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';
import { isActive, refreshRequest, tokenRequest, type ClientCredentials } from '../helpers/token-requests.ts';
import { startAdmin } from './admin-setup.ts';

// Token administration racing the token endpoint. On PostgreSQL these are
// real races (the embedded database runs one statement at a time): a
// refresh in flight while its user's tokens are revoked, tokens issued
// while their client's are, two revocations at once, two rotations at once.
// What must hold: nothing revoked comes back, the counts add up, and
// nothing deadlocks or fails.
const admin = await startAdmin(t);
const call = (method: string, path: string, body?: unknown) => admin.call(method, path, { token: admin.tokens.full, body });
const RS: ClientCredentials = ['rs', SECRETS.rs];
const WEB1: ClientCredentials = ['web1', SECRETS.web1];
const active = (value: string) => isActive(admin.issuer, value, RS);

async function aliceRefreshTokens(count: number): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const { tokens: issued } = await codeFlow(admin.issuer, { parameters: { prompt: 'consent' } });
    tokens.push(issued.access_token, issued.refresh_token!);
  }
  return tokens;
}

const serviceToken = () => tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', SECRETS.svc] });

t.test('refreshes racing the revocation of their user\'s tokens: no token survives', async (t) => {
  for (let round = 0; round < 3; round += 1) {
    const issued = await aliceRefreshTokens(4);
    const refreshTokens = issued.filter((_, i) => i % 2 === 1);
    const refreshes = refreshTokens.map((value) => refreshRequest(admin.issuer, value, WEB1));
    const revocation = call('DELETE', '/v1/realms/default/users/alice/tokens');
    const [revoked, ...answers] = await Promise.all([revocation, ...refreshes]);
    t.equal(revoked.status, 200, `round ${round}: the revocation is answered`);
    const fresh = answers.filter((answer) => answer.status === 200).flatMap((answer) => [String(answer.json!['access_token']), String(answer.json!['refresh_token'])]);
    t.ok(answers.every((answer) => answer.status === 200 || answer.json?.['error'] === 'invalid_grant'), 'each refresh either won or lost cleanly');
    const survivors = [];
    for (const value of [...issued, ...fresh]) if (await active(value)) survivors.push(value);
    t.same(survivors, [], `round ${round}: none of ${issued.length + fresh.length} tokens is active (${fresh.length / 2} refreshes won)`);
    const listed = await call('GET', '/v1/realms/default/tokens?user=alice');
    t.same(listed.json.items, [], 'and none is listed');
  }
});

t.test('tokens issued while their client\'s are revoked: revoked + still active = issued', async (t) => {
  const before = await Promise.all(Array.from({ length: 10 }, serviceToken));
  const during = Array.from({ length: 30 }, serviceToken);
  const revocation = call('DELETE', '/v1/realms/default/clients/svc/tokens');
  const [revoked, ...answers] = await Promise.all([revocation, ...during]);
  t.equal(revoked.status, 200);
  const all = [...before, ...answers];
  t.ok(all.every((answer) => answer.status === 200), 'every issuance succeeded');
  for (const answer of before) t.notOk(await active(String(answer.json!['access_token'])), 'issued before the revocation: revoked');
  let stillActive = 0;
  for (const answer of all) if (await active(String(answer.json!['access_token']))) stillActive += 1;
  // The not-admin token of the test setup is svc's too, issued before all of these.
  t.equal(revoked.json.revoked + stillActive, all.length + 1, `${revoked.json.revoked} revoked, ${stillActive} issued after it: nothing counted twice or lost`);
  const listed = await call('GET', '/v1/realms/default/tokens?client_id=svc&limit=200');
  t.equal(listed.json.items.length, stillActive, 'the list shows exactly the active ones');
});

t.test('two revocations of the same user\'s tokens at once: the counts add up, no deadlock', async (t) => {
  await aliceRefreshTokens(3);
  const live = (await call('GET', '/v1/realms/default/tokens?user=alice&limit=200')).json.items.length;
  t.ok(live >= 6);
  const answers = await Promise.all([
    call('DELETE', '/v1/realms/default/users/alice/tokens'),
    call('DELETE', '/v1/realms/default/users/alice/tokens'),
    call('DELETE', '/v1/realms/default/users/alice/consents'),
    call('DELETE', '/v1/realms/default/users/alice/sessions'),
  ]);
  t.same(answers.map((answer) => answer.status), [200, 200, 200, 200]);
  t.equal(answers[0]!.json.revoked + answers[1]!.json.revoked <= live, true, 'no token counted twice');
  t.same((await call('GET', '/v1/realms/default/tokens?user=alice')).json.items, []);
});

t.test('a client disabled while it obtains tokens: none of them is active afterwards', async (t) => {
  const during = Array.from({ length: 20 }, serviceToken);
  const [disabled, ...answers] = await Promise.all([call('PATCH', '/v1/realms/default/clients/svc', { disabled: true }), ...during]);
  t.equal(disabled.status, 200);
  t.ok(answers.every((answer) => answer.status === 200 || answer.json?.['error'] === 'invalid_client'), 'issued or refused, nothing else');
  for (const answer of answers.filter((a) => a.status === 200)) t.notOk(await active(String(answer.json!['access_token'])));
  t.equal((await serviceToken()).status, 401, 'and no more');
  t.equal((await call('PATCH', '/v1/realms/default/clients/svc', { disabled: false })).status, 200);
});

t.test('two rotations at once: both new secrets work (one as the previous), the original does not', async (t) => {
  const [a, b] = await Promise.all([
    call('POST', '/v1/realms/default/clients/svc/secret', { overlap_seconds: 600 }),
    call('POST', '/v1/realms/default/clients/svc/secret', { overlap_seconds: 600 }),
  ]);
  t.same([a!.status, b!.status], [200, 200]);
  const works = async (secret: string) =>
    (await tokenRequest(admin.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['svc', secret] })).status === 200;
  t.ok(await works(a!.json.client_secret));
  t.ok(await works(b!.json.client_secret));
  t.notOk(await works(SECRETS.svc), 'the secret before both is gone');
});
