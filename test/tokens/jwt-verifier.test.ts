import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as jose from 'jose';
import t from 'tap';
import { JwtVerifier, type RealmVerificationKeys } from '../../src/oidc/jwt-verifier.ts';

// What the verifier remembers of a verified JWT access token may never let
// through a token that a full verification would refuse: not once it has
// expired, not with any part changed, not in another realm.
const ISSUER = 'https://id.example.com';
const KID = 'ec-1';
const START = 1_800_000_000_000;

/** A clock the test moves by hand; the verifier reads it for its own checks and for jwtVerify's. */
function manualClock(start = START) {
  let now = start;
  return { now: () => now, set: (ms: number) => { now = ms; } };
}

function realm(issuer = ISSUER): { keys: RealmVerificationKeys; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { keys: { issuer, keys: new Map([[KID, { key: publicKey, algorithms: ['ES256'] }]]), algorithms: ['ES256'] }, privateKey };
}

let serial = 0;
async function accessToken(privateKey: KeyObject, { issuer = ISSUER, lifetime = 60, claims = {} }: { issuer?: string; lifetime?: number; claims?: Record<string, unknown> } = {}) {
  const iat = Math.floor(START / 1000);
  return new jose.SignJWT({ client_id: 'svc', scope: 'api:read', ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: KID })
    .setIssuer(issuer).setAudience('urn:api').setSubject('svc').setJti(`jti-${++serial}`)
    .setIssuedAt(iat).setExpirationTime(iat + lifetime)
    .sign(privateKey);
}

t.test('a remembered token answers only until its exp, as a full verification would', async (t) => {
  const clock = manualClock();
  const { keys, privateKey } = realm();
  const verifier = new JwtVerifier(keys, { now: clock.now });
  const token = await accessToken(privateKey, { lifetime: 60 });
  const { jti, exp } = jose.decodeJwt(token);

  t.equal(await verifier.verifiedJti(token), jti);
  t.equal(verifier.size, 1, 'remembered');
  clock.set(exp! * 1000 - 1);
  t.equal(await verifier.verifiedJti(token), jti, 'the last millisecond before exp');
  clock.set(exp! * 1000);
  t.equal(await verifier.verifiedJti(token), undefined, 'expired at exp, although remembered');
  t.equal(verifier.size, 0, 'and forgotten');
});

t.test('a changed header, claim or signature of a remembered token is another token, and fails', async (t) => {
  const clock = manualClock();
  const { keys, privateKey } = realm();
  const verifier = new JwtVerifier(keys, { now: clock.now });
  const token = await accessToken(privateKey);
  const jti = jose.decodeJwt(token).jti;
  t.equal(await verifier.verifiedJti(token), jti, 'remembered now');

  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = jose.decodeJwt(token);
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const cases: Record<string, string> = {
    'same jti, wider scope, its signature': `${header}.${encode({ ...claims, scope: 'api:write' })}.${signature}`,
    'same jti, later exp, its signature': `${header}.${encode({ ...claims, exp: claims.exp! + 3600 })}.${signature}`,
    'same header and claims, another key\'s signature': await new jose.SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: KID }).sign(attacker),
    'same claims and signature, alg none': `${encode({ alg: 'none', typ: 'at+jwt', kid: KID })}.${payload}.${signature}`,
    'same claims and signature, another typ': `${encode({ alg: 'ES256', typ: 'JWT', kid: KID })}.${payload}.${signature}`,
    'its signature cut off': `${header}.${payload}.`,
  };
  for (const [name, forged] of Object.entries(cases)) t.equal(await verifier.verifiedJti(forged), undefined, name);
  t.equal(verifier.size, 1, 'no failure is remembered');
  t.equal(await verifier.verifiedJti(token), jti, 'the genuine one still verifies');
});

t.test('what one realm\'s verifier remembers, another does not know', async (t) => {
  const clock = manualClock();
  const first = realm();
  const second = realm();
  const token = await accessToken(first.privateKey);
  t.ok(await new JwtVerifier(first.keys, { now: clock.now }).verifiedJti(token));
  t.equal(await new JwtVerifier(second.keys, { now: clock.now }).verifiedJti(token), undefined, 'other keys');
  t.equal(await new JwtVerifier({ ...first.keys, issuer: 'https://id.example.com/realms/other' }, { now: clock.now }).verifiedJti(token), undefined,
    'same keys, another issuer');
});

t.test('concurrent verifications of one token share the answer', async (t) => {
  const { keys, privateKey } = realm();
  const verifier = new JwtVerifier(keys, { now: manualClock().now });
  const token = await accessToken(privateKey);
  const jti = jose.decodeJwt(token).jti;
  t.same(await Promise.all([verifier.verifiedJti(token), verifier.verifiedJti(token), verifier.verifiedJti(`${token}x`)]), [jti, jti, undefined]);
  t.equal(verifier.size, 1);
});

t.test('at most maxEntries are remembered, the least recently used forgotten first', async (t) => {
  const { keys, privateKey } = realm();
  const verifier = new JwtVerifier(keys, { now: manualClock().now, maxEntries: 3 });
  const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => accessToken(privateKey)));
  for (const token of [a, b, c, a, d]) t.ok(await verifier.verifiedJti(token!));
  t.equal(verifier.size, 3);
  // Without its key nothing verifies in full any more (a test-only change: a provider's keys never change), so only what is remembered answers.
  keys.keys.clear();
  t.ok(await verifier.verifiedJti(a!), 'used again before d came: kept');
  t.equal(await verifier.verifiedJti(b!), undefined, 'least recently used: forgotten');
  t.ok(await verifier.verifiedJti(c!));
  t.ok(await verifier.verifiedJti(d!));
});
