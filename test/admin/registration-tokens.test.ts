import t from 'tap';
import { startRegistration } from '../registration/registration-setup.ts';

// Initial access tokens through the admin API: issued with a use count and
// an expiry (single-use, one day, by default), their value shown once;
// listed as metadata, page by page; revoked. The rules are the service's,
// the CLI's too (test/cli/registration-tokens.test.ts).
const admin = await startRegistration(t);
const call = (method: string, path: string, body?: unknown, token = admin.tokens.full) => admin.call(method, path, { token, body });
const base = '/v1/realms/acme/initial-access-tokens';

t.test('issue: 201, Location, the value once; defaults single-use for a day', async (t) => {
  const issued = await call('POST', base, {});
  t.equal(issued.status, 201);
  t.equal(issued.headers.get('location'), `${base}/${issued.json.id}`);
  t.equal(issued.headers.get('cache-control'), 'no-store');
  t.match(issued.json, { uses_allowed: 1, uses_left: 1, description: null });
  t.match(issued.json.token, /^[A-Za-z0-9_-]{43}$/, '256 bits, base64url');
  const lifetime = Date.parse(issued.json.expires_at) - Date.parse(issued.json.created_at);
  t.equal(Math.round(lifetime / 1000), 24 * 3600, 'a day');

  const counted = await call('POST', base, { uses: 25, expires_in: 600, description: 'partner onboarding' });
  t.equal(counted.status, 201);
  t.match(counted.json, { uses_allowed: 25, uses_left: 25, description: 'partner onboarding' });
  t.equal(Math.round((Date.parse(counted.json.expires_at) - Date.parse(counted.json.created_at)) / 1000), 600);
});

t.test('list: metadata only, never the value or its digest; pages by cursor', async (t) => {
  const issued = await call('POST', base, { description: 'to list' });
  const first = await call('GET', `${base}?limit=1`, undefined, admin.tokens.readOnly);
  t.equal(first.status, 200);
  t.equal(first.json.items.length, 1);
  t.ok(first.json.next_cursor, 'a next page');
  const all = await call('GET', `${base}?limit=200`, undefined, admin.tokens.readOnly);
  const found = all.json.items.find((item: { id: string }) => item.id === issued.json.id);
  t.match(found, { uses_left: 1, description: 'to list' });
  t.notOk(all.text.includes(issued.json.token), 'no value');
  t.notOk(/token|digest/.test(Object.keys(found).join(' ')), 'no value or digest field');
  const second = await call('GET', `${base}?limit=1&cursor=${encodeURIComponent(first.json.next_cursor)}`, undefined, admin.tokens.readOnly);
  t.not(second.json.items[0].id, first.json.items[0].id, 'the next page goes on');
});

t.test('revoke: 204, then 404; the token registers nothing', async (t) => {
  const issued = await call('POST', base, {});
  t.equal((await call('DELETE', `${base}/${issued.json.id}`)).status, 204);
  const again = await call('DELETE', `${base}/${issued.json.id}`);
  t.equal(again.status, 404);
  t.equal(again.json.code, 'initial_access_token_not_found');
  t.equal((await admin.register('acme', { redirect_uris: ['https://x.test/cb'] }, issued.json.token)).status, 401);
  t.equal((await call('DELETE', '/v1/realms/partners/initial-access-tokens/' + issued.json.id)).status, 404, "another realm's id is not found either");
});

t.test('refusals: problem details naming the field, nothing issued', async (t) => {
  const before = (await call('GET', `${base}?limit=200`)).json.items.length;
  for (const [body, field] of [
    [{ uses: 0 }, 'uses'], [{ uses: 1001 }, 'uses'], [{ expires_in: 59 }, 'expires_in'], [{ expires_in: 91 * 24 * 3600 }, 'expires_in'],
    [{ description: '' }, 'description'], [{ description: 'a\nb' }, 'description'],
  ] as const) {
    const refused = await call('POST', base, body);
    t.equal(refused.status, 422, JSON.stringify(body));
    t.equal(refused.json.code, 'initial_access_token_invalid');
    t.equal(refused.json.errors[0].field, field);
  }
  const unknown = await call('POST', base, { uses: 1, admin: true });
  t.equal(unknown.status, 400, 'an unknown property');
  const wrongType = await call('POST', base, { uses: 'many' });
  t.equal(wrongType.status, 400, 'a count that is no number');
  const disabled = await call('POST', '/v1/realms/default/initial-access-tokens', {});
  t.equal(disabled.status, 409);
  t.match(disabled.json.detail, /realm default does not accept client registrations/);
  t.equal((await call('POST', '/v1/realms/nowhere/initial-access-tokens', {})).status, 404, 'a realm not served');
  t.equal((await call('GET', `${base}?limit=200`)).json.items.length, before, 'nothing was issued');
});

t.test('expired tokens are dropped as new ones are issued', async (t) => {
  const issued = await call('POST', base, { description: 'soon gone' });
  await admin.latchkey.services.database.db.updateTable('initial_access_tokens')
    .set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', issued.json.id).execute();
  await call('POST', base, {});
  const listed = await call('GET', `${base}?limit=200`);
  t.notOk(listed.json.items.some((item: { id: string }) => item.id === issued.json.id));
});
