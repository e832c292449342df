import t from 'tap';
import { usernameProblem } from '../../src/config/index.ts';
import { codeFlow } from '../helpers/relying-party.ts';
import { SECRETS } from '../helpers/setups.ts';
import { assertNoLeak, isActive } from '../helpers/token-requests.ts';
import { startAdmin } from './admin-setup.ts';

// Users through the admin API: the account service the CLI uses, so the
// same rules and the same revocations; a password goes in and never comes
// out, nor its hash; pages by cursor; one realm at a time.
const admin = await startAdmin(t);
const call = (method: string, path: string, body?: unknown) => admin.call(method, path, { token: admin.tokens.full, body });
const RS = ['rs', SECRETS.rs] as const;
const BOB_PASSWORD = 'bob-password-for-tests-1';

t.test('create: 201, Location, the user without a password or hash', async (t) => {
  const created = await call('POST', '/v1/realms/default/users', {
    username: 'bob', password: BOB_PASSWORD, email: 'bob@example.test', email_verified: true, name: 'Bob Example', roles: ['billing-admin'], groups: ['Finance'],
  });
  t.equal(created.status, 201);
  t.equal(created.headers.get('location'), '/v1/realms/default/users/bob');
  t.match(created.json, { username: 'bob', email: 'bob@example.test', email_verified: true, disabled: false, roles: ['billing-admin'], groups: ['Finance'], claims: { name: 'Bob Example' }, password_storage: 'argon2id' });
  t.match(created.json.id, /^[0-9a-f-]{36}$/);
  t.same(Object.keys(created.json).filter((key) => /password|hash/.test(key)).sort(), ['password_changed_at', 'password_storage'], 'of the password, only how it is stored and when it changed');
  assertNoLeak(t, created.text, [BOB_PASSWORD, '$argon2']);
  const read = await call('GET', '/v1/realms/default/users/bob');
  t.equal(read.status, 200);
  assertNoLeak(t, read.text, [BOB_PASSWORD, '$argon2']);
  t.equal((await call('GET', '/v1/realms/default/users/BOB')).json.username, 'bob', 'usernames are found in any case, as at sign-in');
});

t.test('the account rules, in the CLI\'s words; a taken username is 409', async (t) => {
  const taken = await call('POST', '/v1/realms/default/users', { username: 'Bob', password: 'whatever-1' });
  t.equal(taken.status, 409);
  t.equal(taken.json.code, 'account_exists');
  const spaced = await call('POST', '/v1/realms/default/users', { username: 'b ob', password: 'whatever-1' });
  t.equal(spaced.status, 422);
  t.equal(spaced.json.detail, `username: ${usernameProblem('b ob')!}`);
  const badRoles = await call('POST', '/v1/realms/default/users', { username: 'carol', password: 'whatever-1', roles: ['a', 'a'] });
  t.equal(badRoles.status, 422);
  t.match(badRoles.json.detail, /roles\[1\]: listed twice/);
  const noPassword = await call('POST', '/v1/realms/default/users', { username: 'carol' });
  t.equal(noPassword.status, 400);
  t.match(noPassword.json.errors, [{ field: 'password', message: 'is required' }]);
  const hashGiven = await call('POST', '/v1/realms/default/users', { username: 'carol', password: 'x1', password_hash: '$pbkdf2-sha256$i=1$a$b' });
  t.equal(hashGiven.status, 400, 'no hash is taken from the admin API');
  t.match(hashGiven.json.errors, [{ field: 'password_hash', message: 'unknown property (check the spelling)' }]);
  t.equal((await call('GET', '/v1/realms/default/users/carol')).status, 404, 'nothing stored');
});

t.test('set a password: 204, everything issued to the user revoked, the new password signs in', async (t) => {
  const { tokens } = await codeFlow(admin.issuer);
  t.ok(await isActive(admin.issuer, tokens.access_token, RS), 'alice has a live token');
  const set = await call('PUT', '/v1/realms/default/users/alice/password', { password: 'alice-new-password-1' });
  t.equal(set.status, 204);
  t.notOk(await isActive(admin.issuer, tokens.access_token, RS), 'her token is revoked');
  const again = await codeFlow(admin.issuer, { password: 'alice-new-password-1' });
  t.ok(again.tokens.access_token, 'she signs in with the new password');
  await t.rejects(codeFlow(admin.issuer, { password: SECRETS.alice }), 'not with the old one');
  t.equal((await call('PUT', '/v1/realms/default/users/ghost/password', { password: 'x-1' })).status, 404);
  t.equal((await call('PUT', '/v1/realms/default/users/alice/password', { password: '' })).status, 400);
});

t.test('disable and enable: a disabled user\'s tokens are revoked and they cannot sign in', async (t) => {
  const { tokens } = await codeFlow(admin.issuer, { password: 'alice-new-password-1' });
  const disabled = await call('PATCH', '/v1/realms/default/users/alice', { disabled: true });
  t.equal(disabled.status, 200);
  t.equal(disabled.json.disabled, true);
  t.notOk(await isActive(admin.issuer, tokens.access_token, RS), 'revoked');
  t.notOk(await admin.latchkey.services.accounts.authenticate('default', 'alice', 'alice-new-password-1'), 'cannot sign in');
  const enabled = await call('PATCH', '/v1/realms/default/users/alice', { disabled: false });
  t.equal(enabled.json.disabled, false);
  t.ok(await admin.latchkey.services.accounts.authenticate('default', 'alice', 'alice-new-password-1'), 'signs in again');
});

t.test('roles and groups replaced; an empty or unknown change is refused', async (t) => {
  const changed = await call('PATCH', '/v1/realms/default/users/bob', { roles: ['auditor'], groups: [] });
  t.equal(changed.status, 200);
  t.same([changed.json.roles, changed.json.groups], [['auditor'], []]);
  t.equal((await call('PATCH', '/v1/realms/default/users/bob', {})).status, 400);
  t.equal((await call('PATCH', '/v1/realms/default/users/bob', { email: 'x@y.test' })).status, 400);
  t.equal((await call('PATCH', '/v1/realms/default/users/bob', { roles: [' padded'] })).status, 422);
  t.equal((await call('PATCH', '/v1/realms/default/users/ghost', { disabled: true })).status, 404);
});

t.test('pages by cursor, in username order; one realm at a time', async (t) => {
  for (const name of ['dave', 'erin', 'frank', 'grace', 'heidi']) {
    t.equal((await call('POST', '/v1/realms/default/users', { username: name, password: `${name}-password-1` })).status, 201);
  }
  t.equal((await call('POST', '/v1/realms/acme/users', { username: 'ivan', password: 'ivan-password-1' })).status, 201);
  const all = (await call('GET', '/v1/realms/default/users?limit=200')).json.items.map((u: { username: string }) => u.username);
  t.same(all, ['alice', 'bob', 'dave', 'erin', 'frank', 'grace', 'heidi']);
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await call('GET', `/v1/realms/default/users?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    seen.push(...page.json.items.map((u: { username: string }) => u.username));
    assertNoLeak(t, page.text, ['$argon2', 'password-1']);
    cursor = page.json.next_cursor;
  } while (cursor);
  t.same(seen, all);
  t.same((await call('GET', '/v1/realms/acme/users')).json.items.map((u: { username: string }) => u.username), ['ivan']);
  t.equal((await call('GET', '/v1/realms/default/users/ivan')).status, 404);
});

t.test('delete: 204, revoked, then 404', async (t) => {
  const { tokens } = await codeFlow(admin.issuer, { password: 'alice-new-password-1' });
  t.equal((await call('DELETE', '/v1/realms/default/users/alice')).status, 204);
  t.notOk(await isActive(admin.issuer, tokens.access_token, RS));
  const gone = await call('GET', '/v1/realms/default/users/alice');
  t.equal(gone.status, 404);
  t.equal(gone.json.code, 'account_not_found');
  t.equal((await call('DELETE', '/v1/realms/default/users/alice')).status, 404);
});
