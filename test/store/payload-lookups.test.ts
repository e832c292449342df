import { randomBytes } from 'node:crypto';
import t from 'tap';
import { digest, PayloadAdapter } from '../../src/oidc/payload-adapter.ts';
import { PayloadLookups } from '../../src/oidc/payload-lookups.ts';
import { openTestDb } from '../helpers/open-test-db.ts';

// Parallel lookups of one id as several models (what introspection does) are
// coalesced into one statement; each caller must still get exactly its own
// model's row, expired rows stay invisible, and realms stay apart.
const db = await openTestDb(t);
const epoch = () => Math.floor(Date.now() / 1000);
// As a provider does: one PayloadLookups per realm, shared by every model's adapter.
const lookups = new Map<string, PayloadLookups>();
const lookupsOf = (realm: string) => lookups.get(realm) ?? lookups.set(realm, new PayloadLookups(db, realm)).get(realm)!;
const adapter = (model: string, realm = 'default') => new PayloadAdapter(db, realm, model, { lookups: lookupsOf(realm) });
/**
 * An adapter whose clock is a minute behind: what it writes with a lifetime
 * of one second expired long ago by the database's now(), which decides.
 */
const writtenLongAgo = (model: string, realm = 'default') => new PayloadAdapter(db, realm, model, { lookups: lookupsOf(realm), now: () => Date.now() - 60_000 });
const unique = () => randomBytes(32).toString('base64url');
/** Control for the expiry cases: the row is in the table, only expired. */
const storedExpired = async (model: string, id: string) => Boolean(await db.selectFrom('oidc_payloads').select('id')
  .where('model', '=', model).where('id', '=', digest(id)).where('expires_at', '<', new Date()).executeTakeFirst());

t.test('each model gets its own row from a coalesced lookup', async (t) => {
  const id = unique();
  await adapter('AccessToken').upsert(id, { kind: 'AccessToken', jti: id, clientId: 'web1', exp: epoch() + 600 }, 600);
  await adapter('RefreshToken').upsert(id, { kind: 'RefreshToken', jti: id, clientId: 'web2', exp: epoch() + 600 }, 600);
  const [access, credentials, refresh, again] = await Promise.all([
    adapter('AccessToken').find(id),
    adapter('ClientCredentials').find(id),
    adapter('RefreshToken').find(id),
    adapter('AccessToken').find(id),
  ]);
  t.match(access, { kind: 'AccessToken', clientId: 'web1', jti: id });
  t.equal(credentials, undefined, 'no row for that model');
  t.match(refresh, { kind: 'RefreshToken', clientId: 'web2', jti: id });
  t.same(again, access, 'a duplicate request for the same model gets the same answer');
});

t.test('different ids in the same tick do not mix', async (t) => {
  const ids = Array.from({ length: 20 }, unique);
  await Promise.all(ids.map((id, i) => adapter(i % 2 ? 'AccessToken' : 'ClientCredentials').upsert(id, { kind: 'x', jti: id, n: i } as never, 600)));
  const found = await Promise.all(ids.flatMap((id) => [adapter('AccessToken').find(id), adapter('ClientCredentials').find(id)]));
  ids.forEach((id, i) => {
    const [access, credentials] = [found[2 * i], found[2 * i + 1]];
    t.match(i % 2 ? access : credentials, { n: i, jti: id }, `id ${i} found as its own model`);
    t.equal(i % 2 ? credentials : access, undefined, `id ${i} absent as the other model`);
  });
});

t.test('expired rows are invisible and realms are separate in coalesced lookups', async (t) => {
  const id = unique();
  await writtenLongAgo('AccessToken').upsert(id, { kind: 'AccessToken', jti: id }, 1);
  await adapter('RefreshToken', 'other').upsert(id, { kind: 'RefreshToken', jti: id }, 600);
  const [access, refresh, otherRealm] = await Promise.all([
    adapter('AccessToken').find(id),
    adapter('RefreshToken').find(id),
    adapter('RefreshToken', 'other').find(id),
  ]);
  t.ok(await storedExpired('AccessToken', id), 'control: the row is stored, with an expiry in the past');
  t.equal(access, undefined, 'expired');
  t.equal(refresh, undefined, 'the other realm\'s row is not this realm\'s');
  t.match(otherRealm, { kind: 'RefreshToken' });
});

t.test('a token is read with its Grant; revocation in this process is never answered from that', async (t) => {
  const grantId = unique();
  const tokenId = unique();
  await adapter('Grant').upsert(grantId, { kind: 'Grant', jti: grantId, accountId: 'alice', clientId: 'web1' } as never, 600);
  await adapter('AccessToken').upsert(tokenId, { kind: 'AccessToken', jti: tokenId, grantId, clientId: 'web1' } as never, 600);

  t.match(await adapter('AccessToken').find(tokenId), { grantId });
  t.match(await adapter('Grant').find(grantId), { kind: 'Grant', accountId: 'alice' }, 'the Grant, as read with the token');

  await adapter('AccessToken').find(tokenId); // reads the Grant again
  await adapter('Grant').revokeByGrantId(grantId);
  t.equal(await adapter('Grant').find(grantId), undefined, 'revoked here: gone at once');
  t.equal(await adapter('AccessToken').find(tokenId), undefined, 'and its token too');
});

t.test('a Grant deleted by another instance is seen as deleted once the short prefetch window has passed', async (t) => {
  const grantId = unique();
  const tokenId = unique();
  await adapter('Grant').upsert(grantId, { kind: 'Grant', jti: grantId } as never, 600);
  await adapter('RefreshToken').upsert(tokenId, { kind: 'RefreshToken', jti: tokenId, grantId } as never, 600);
  await adapter('RefreshToken').find(tokenId);
  // Another instance revokes the grant: the row goes, this process is not told.
  await db.deleteFrom('oidc_payloads').where('realm', '=', 'default').where('grant_id', '=', grantId).execute();
  // The window is PREFETCHED_GRANT_MS (250 ms) on Date.now() inside PayloadLookups,
  // which takes no clock: the time has to pass.
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.equal(await adapter('Grant').find(grantId), undefined);
});

t.test('an expired Grant is not read with its token', async (t) => {
  const grantId = unique();
  const tokenId = unique();
  await writtenLongAgo('Grant').upsert(grantId, { kind: 'Grant', jti: grantId } as never, 1);
  await adapter('AccessToken').upsert(tokenId, { kind: 'AccessToken', jti: tokenId, grantId } as never, 600);
  t.ok(await adapter('AccessToken').find(tokenId), 'the token row is still there');
  t.ok(await storedExpired('Grant', grantId), 'control: the Grant row is stored, with an expiry in the past');
  t.equal(await adapter('Grant').find(grantId), undefined, 'but its Grant expired');
});

t.test('a token is read with its Session; a logout in this process is never answered from that', async (t) => {
  const sessionId = unique();
  const sessionUid = unique();
  const tokenId = unique();
  await adapter('Session').upsert(sessionId, { kind: 'Session', jti: sessionId, uid: sessionUid, accountId: 'alice' } as never, 600);
  await adapter('AccessToken').upsert(tokenId, { kind: 'AccessToken', jti: tokenId, sessionUid } as never, 600);

  await adapter('AccessToken').find(tokenId);
  t.match(await adapter('Session').findByUid(sessionUid), { uid: sessionUid, accountId: 'alice' }, 'the Session, as read with the token');
  t.notOk((await adapter('Session').findByUid(sessionUid))?.jti, 'found by uid: without its id (the cookie value)');

  await adapter('AccessToken').find(tokenId); // reads the Session again
  await adapter('Session').destroy(sessionId);
  t.equal(await adapter('Session').findByUid(sessionUid), undefined, 'logged out here: gone at once');
});
