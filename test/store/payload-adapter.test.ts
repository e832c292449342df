import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { errors, type AdapterPayload } from 'oidc-provider';
import t from 'tap';
import { createLogger } from '../../src/log/logger.ts';
import { ClientAdapter } from '../../src/oidc/client-adapter.ts';
import { PayloadAdapter } from '../../src/oidc/payload-adapter.ts';
import { openDatabase } from '../../src/store/database.ts';
import { openTestDb } from '../helpers/open-test-db.ts';
import { until } from '../helpers/waiting.ts';

// oidc-provider's storage contract (node_modules/oidc-provider/example/my_adapter.js)
// against the real table, on PGlite and on PostgreSQL.
const db = await openTestDb(t);
const adapter = (model: string, realm = 'default') => new PayloadAdapter(db, realm, model);
const unique = (label: string) => `${label}-${randomBytes(16).toString('base64url')}`;
const epoch = () => Math.floor(Date.now() / 1000);

/** Payloads shaped like the ones oidc-provider's models hand the adapter. */
function tokenPayload(kind: string, id: string, grantId: string, extra: Partial<AdapterPayload> = {}): AdapterPayload {
  return { kind, jti: id, iat: epoch(), exp: epoch() + 600, accountId: 'alice', clientId: 'web1', grantId, scope: 'openid offline_access', sessionUid: 'sess-uid-of-grant', ...extra };
}

/** A hang guard, not a performance bound. */
async function withinTenSeconds<T>(work: Promise<T>): Promise<T> {
  const cancel = new AbortController();
  const hung = sleep(10_000, undefined, { signal: cancel.signal }).then(() => { throw new Error('no answer within 10 s'); });
  try {
    return await Promise.race([work, hung]);
  } finally {
    cancel.abort();
  }
}

async function rowsOfGrant(grantId: string) {
  return db.selectFrom('oidc_payloads').select(['model']).where('grant_id', '=', grantId).execute();
}

/** Writes a grant the way oidc-provider does: the Grant row plus tokens that carry its id. */
async function seedGrant(realm = 'default') {
  const grantId = unique('grant');
  const ids = { at: unique('at'), rt: unique('rt'), code: unique('code') };
  await adapter('Grant', realm).upsert(grantId, { kind: 'Grant', jti: grantId, accountId: 'alice', clientId: 'web1', openid: { scope: 'openid' } }, 600);
  await adapter('AccessToken', realm).upsert(ids.at, tokenPayload('AccessToken', ids.at, grantId), 600);
  await adapter('RefreshToken', realm).upsert(ids.rt, tokenPayload('RefreshToken', ids.rt, grantId), 600);
  await adapter('AuthorizationCode', realm).upsert(ids.code, tokenPayload('AuthorizationCode', ids.code, grantId, { redirectUri: 'https://app.test/cb' }), 600);
  return { grantId, ...ids };
}

function sessionPayload(id: string, uid: string): AdapterPayload {
  return { kind: 'Session', jti: id, uid, accountId: 'alice', loginTs: epoch(), iat: epoch(), exp: epoch() + 600, authorizations: { web1: { sid: 'sid-1', grantId: 'g-1' } } };
}

function interactionPayload(id: string, cookie: string): AdapterPayload {
  return {
    kind: 'Interaction', jti: id, iat: epoch(), exp: epoch() + 600,
    session: { accountId: 'alice', uid: 'sess-uid', cookie, acr: 'urn:latchkey:pwd' },
    params: { client_id: 'web1', redirect_uri: 'https://app.test/cb', scope: 'openid' },
    prompt: { name: 'consent', reasons: ['op_scopes_missing'], details: {} },
  };
}

t.test('upsert/find round trip for every model, jti restored', async (t) => {
  const grantId = unique('grant');
  const cases: [string, string, AdapterPayload][] = [];
  for (const kind of ['AccessToken', 'RefreshToken', 'AuthorizationCode']) {
    const id = unique(kind);
    cases.push([kind, id, tokenPayload(kind, id, grantId, { nested: { list: [1, 'two', null], flag: true } })]);
  }
  const sessionId = unique('session');
  cases.push(['Session', sessionId, sessionPayload(sessionId, unique('uid'))]);
  cases.push(['Grant', grantId, { kind: 'Grant', jti: grantId, accountId: 'alice', clientId: 'web1', openid: { scope: 'openid' }, resources: { 'https://api.test': 'api:read' } }]);

  for (const [model, id, payload] of cases) {
    await adapter(model).upsert(id, payload, 600);
    t.same(await adapter(model).find(id), payload, `${model} comes back as written, jti included`);
  }

  const interactionId = unique('interaction');
  const interaction = interactionPayload(interactionId, unique('cookie'));
  await adapter('Interaction').upsert(interactionId, interaction, 600);
  const found = await adapter('Interaction').find(interactionId);
  t.equal(found?.jti, interactionId, 'Interaction jti restored');
  t.same(found?.params, interaction.params);
  t.same(found?.session, { accountId: 'alice', uid: 'sess-uid', acr: 'urn:latchkey:pwd' }, 'Interaction session without its cookie');

  const updated = { ...cases[0]![2], scope: 'openid' };
  await adapter(cases[0]![0]).upsert(cases[0]![1], updated, 600);
  t.equal((await adapter(cases[0]![0]).find(cases[0]![1]))?.scope, 'openid', 'a second upsert replaces the payload');
  t.equal(await adapter('RefreshToken').find(cases[0]![1]), undefined, 'ids are scoped by model');
});

t.test('consume marks the row with an epoch-seconds number', async (t) => {
  const { rt } = await seedGrant();
  t.equal((await adapter('RefreshToken').find(rt))?.consumed, undefined, 'not consumed before');
  await adapter('RefreshToken').consume(rt);
  const consumed = (await adapter('RefreshToken').find(rt))?.consumed;
  t.type(consumed, 'number');
  t.ok(Number.isInteger(consumed), 'whole seconds, not milliseconds');
  t.ok(Math.abs(Number(consumed) - epoch()) < 120, `close to now in seconds: ${consumed}`);
});

t.test('ids, uids and session cookies are stored only as digests', async (t) => {
  const grantId = unique('grant');
  const secrets: Record<string, string> = {};
  for (const kind of ['AccessToken', 'RefreshToken', 'AuthorizationCode']) {
    secrets[kind] = unique(kind);
    await adapter(kind).upsert(secrets[kind], tokenPayload(kind, secrets[kind], grantId), 600);
  }
  secrets.Session = unique('session');
  const sessionUid = unique('session-uid');
  await adapter('Session').upsert(secrets.Session, sessionPayload(secrets.Session, sessionUid), 600);
  secrets.Interaction = unique('interaction');
  secrets.cookie = unique('cookie');
  await adapter('Interaction').upsert(secrets.Interaction, interactionPayload(secrets.Interaction, secrets.cookie), 600);

  const { rows } = await sql<Record<string, unknown>>`select * from oidc_payloads`.execute(db);
  const dump = JSON.stringify(rows);
  for (const [name, value] of Object.entries(secrets)) t.notOk(dump.includes(value), `${name} value is nowhere in the table`);
  // The Session's uid is not a credential (the cookie is the Session id), and
  // oidc-provider needs it back from find(cookie), so the payload keeps it;
  // the indexed uid column holds only its digest.
  t.notOk(rows.some((row) => row.id === sessionUid || row.uid === sessionUid), 'uid is not stored raw in the id or uid columns');
  t.equal((await adapter('Session').findByUid(sessionUid))?.uid, sessionUid, 'and the session is still found by it');
  t.ok((await adapter('Session').find(secrets.Session))?.uid === sessionUid, 'find by cookie restores the uid');
});

t.test('expiry: expiresIn=1 expires, 0 and undefined never do', async (t) => {
  const [short, zero, none] = [unique('short'), unique('zero'), unique('none')];
  // The adapter's clock, read once, so that the test knows expires_at exactly.
  const writtenAt = Date.now();
  await new PayloadAdapter(db, 'default', 'AccessToken', { now: () => writtenAt }).upsert(short, tokenPayload('AccessToken', short, 'g'), 1);
  await adapter('AccessToken').upsert(zero, tokenPayload('AccessToken', zero, 'g'), 0);
  // oidc-provider's type says number, but the engine calls upsert without a
  // lifetime when a model has none (lib/models/base_model.js, save(ttl)).
  await adapter('AccessToken').upsert(none, tokenPayload('AccessToken', none, 'g'), undefined as unknown as number);
  t.ok(await adapter('AccessToken').find(short), 'found right after upsert');
  // Whether a row has expired is the database's now() against expires_at; no
  // test can move that clock, so the second of lifetime has to pass.
  await until(writtenAt + 1000 + 10);
  t.equal(await adapter('AccessToken').find(short), undefined, 'gone after its lifetime');
  t.ok(await adapter('AccessToken').find(zero), 'expiresIn 0 still found');
  t.ok(await adapter('AccessToken').find(none), 'expiresIn undefined still found');
});

t.test('25 concurrent consumes: exactly one wins, the rest get invalid_grant and the grant is gone', async (t) => {
  const { grantId, rt, at, code } = await seedGrant();
  const other = await seedGrant();
  const results = await Promise.allSettled(Array.from({ length: 25 }, () => adapter('RefreshToken').consume(rt)));
  t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one consume resolves');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.equal(rejected.length, 24);
  for (const { reason } of rejected) {
    t.ok(reason instanceof errors.InvalidGrant, 'oidc-provider InvalidGrant');
    t.equal((reason as { error?: string }).error, 'invalid_grant');
  }
  t.same(await rowsOfGrant(grantId), [], 'no row of the grant is left');
  for (const [model, id] of [['AccessToken', at], ['AuthorizationCode', code], ['RefreshToken', rt], ['Grant', grantId]] as const) {
    t.equal(await adapter(model).find(id), undefined, `${model} gone`);
  }
  t.equal((await rowsOfGrant(other.grantId)).length, 4, 'another grant is untouched');
});

t.test('consuming an already-consumed token rejects and deletes its grant', async (t) => {
  const { grantId, code, at } = await seedGrant();
  await adapter('AuthorizationCode').consume(code);
  t.ok(await adapter('AccessToken').find(at), 'the grant lives after the first consume');
  await t.rejects(adapter('AuthorizationCode').consume(code), { name: 'InvalidGrant', error: 'invalid_grant' });
  t.same(await rowsOfGrant(grantId), [], 'the replay removed the whole grant');
  t.equal(await adapter('Grant').find(grantId), undefined, 'including the Grant row');
});

t.test('revokeByGrantId deletes every model of that grant and nothing else', async (t) => {
  const target = await seedGrant();
  const kept = await seedGrant();
  await adapter('AccessToken').revokeByGrantId(target.grantId);
  t.same(await rowsOfGrant(target.grantId), []);
  t.equal(await adapter('Grant').find(target.grantId), undefined, 'Grant row deleted');
  t.equal(await adapter('RefreshToken').find(target.rt), undefined, 'refresh token deleted');
  t.equal((await rowsOfGrant(kept.grantId)).length, 4, 'the other grant keeps all its rows');
  t.ok(await adapter('RefreshToken').find(kept.rt));
});

t.test('realms are independent', async (t) => {
  const id = unique('shared-id');
  const grantId = unique('shared-grant');
  for (const realm of ['a', 'b']) {
    await adapter('RefreshToken', realm).upsert(id, tokenPayload('RefreshToken', id, grantId, { realmMarker: realm }), 600);
    await adapter('Grant', realm).upsert(grantId, { kind: 'Grant', jti: grantId, realmMarker: realm }, 600);
  }
  t.equal((await adapter('RefreshToken', 'a').find(id))?.realmMarker, 'a');
  t.equal((await adapter('RefreshToken', 'b').find(id))?.realmMarker, 'b');
  t.equal(await adapter('RefreshToken', 'default').find(id), undefined, 'not visible from a third realm');

  await adapter('RefreshToken', 'a').consume(id);
  t.type((await adapter('RefreshToken', 'a').find(id))?.consumed, 'number');
  t.equal((await adapter('RefreshToken', 'b').find(id))?.consumed, undefined, 'consume in a leaves b unconsumed');
  await adapter('RefreshToken', 'b').consume(id); // would reject if a's consume had touched b

  await t.rejects(adapter('RefreshToken', 'a').consume(id), { name: 'InvalidGrant', error: 'invalid_grant' });
  t.equal(await adapter('Grant', 'a').find(grantId), undefined, 'replay in a deletes a\'s grant');
  t.ok(await adapter('Grant', 'b').find(grantId), 'b\'s grant with the same id survives');

  await adapter('RefreshToken', 'a').destroy(id);
  await adapter('RefreshToken', 'a').revokeByGrantId(grantId);
  t.ok(await adapter('RefreshToken', 'b').find(id), 'destroy and revoke in a leave b alone');
});

t.test('destroy, findByUid and findByUserCode', async (t) => {
  const { at } = await seedGrant();
  await adapter('AccessToken').destroy(at);
  t.equal(await adapter('AccessToken').find(at), undefined, 'destroyed');
  await t.resolves(adapter('AccessToken').destroy(at), 'destroying a missing id is fine');

  const sessionId = unique('session');
  const uid = unique('uid');
  await adapter('Session').upsert(sessionId, sessionPayload(sessionId, uid), 600);
  const byUid = await adapter('Session').findByUid(uid);
  t.equal(byUid?.accountId, 'alice');
  t.equal(byUid?.uid, uid);
  t.equal(await adapter('Session').findByUid(unique('uid')), undefined, 'unknown uid');
  t.equal(await adapter('Interaction').findByUid(uid), undefined, 'uid lookups are scoped by model');

  const deviceId = unique('device');
  const userCode = 'BCDF-GHJK';
  await adapter('DeviceCode').upsert(deviceId, { kind: 'DeviceCode', jti: deviceId, userCode, clientId: 'tv', params: { scope: 'openid' } }, 600);
  const byCode = await adapter('DeviceCode').findByUserCode(userCode);
  t.equal(byCode?.userCode, userCode);
  t.equal(byCode?.clientId, 'tv');
  t.equal(await adapter('DeviceCode').findByUserCode('XXXX-XXXX'), undefined, 'unknown user code');
});

t.test('hostile ids find nothing and never throw', async (t) => {
  const hostile: [string, string][] = [['empty', ''], ['10 KB', 'x'.repeat(10_240)], ['NUL', 'abc\0def'], ['lone surrogate', 'abc\ud800def']];
  for (const [name, id] of hostile) {
    for (const model of ['AccessToken', 'Session', 'Interaction']) {
      t.equal(await adapter(model).find(id), undefined, `find ${model} ${name}`);
      t.equal(await adapter(model).findByUid(id), undefined, `findByUid ${model} ${name}`);
      t.equal(await adapter(model).findByUserCode(id), undefined, `findByUserCode ${model} ${name}`);
    }
  }
});

t.test('an unreachable database fails with 503 temporarily_unavailable, promptly', async (t) => {
  const unreachable = await openDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', connectTimeoutMs: 500, dataDir: undefined, logger: createLogger('silent') });
  t.teardown(() => unreachable.close());
  const calls: [string, () => Promise<unknown>][] = [
    ['find', () => new PayloadAdapter(unreachable.db, 'default', 'AccessToken').find('x')],
    ['consume', () => new PayloadAdapter(unreachable.db, 'default', 'RefreshToken').consume('x')],
    ['client find', () => new ClientAdapter(unreachable.db, 'default').find('web1')],
  ];
  for (const [name, call] of calls) {
    const error = await withinTenSeconds(call()).then(() => undefined, (e: unknown) => e) as Record<string, unknown> | undefined;
    t.equal(error?.statusCode, 503, `${name}: statusCode 503`);
    t.equal(error?.error, 'temporarily_unavailable', `${name}: temporarily_unavailable`);
  }
});
