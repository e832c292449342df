import { createPrivateKey } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import * as jose from 'jose';
import t from 'tap';
import { codeFlow } from '../helpers/relying-party.ts';
import { until, waitFor } from '../helpers/waiting.ts';
import { startAdmin } from './admin-setup.ts';

// Signing keys through the admin API: the rules `latchkey keys` follows
// (src/keys/key-administration.ts), on the keys folder the running server
// re-reads. Keys are re-read every second and the JWKS cached for a second
// (the shortest schedule the configuration allows), so that a staged key's
// time comes within the test.
const admin = await startAdmin(t, {
  env: { LATCHKEY_KEY_CHECK_SECONDS: '1', LATCHKEY_JWKS_MAX_AGE_SECONDS: '1', LATCHKEY_KEY_ACTIVATION_DELAY_SECONDS: '2' },
});
const read = (path: string) => admin.call('GET', path, { token: admin.tokens.readOnly });
const write = (path: string, body: unknown) => admin.call('POST', path, { token: admin.tokens.full, body });

interface Key { kid: string; alg: string; status: string; signs: boolean; public_jwk: Record<string, unknown>; activates_at?: string }
const keys = async () => (await read('/v1/keys')).json.items as Key[];
const kidOf = (jwt: string) => jose.decodeProtectedHeader(jwt).kid!;
async function publishedKids(): Promise<string[]> {
  return ((await (await fetch(`${admin.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
}
async function idToken(): Promise<string> {
  return (await codeFlow(admin.issuer, { scope: 'openid' })).tokens.id_token!;
}
async function verifies(token: string): Promise<boolean> {
  const jwks = jose.createLocalJWKSet(await (await fetch(`${admin.issuer}/jwks`)).json() as jose.JSONWebKeySet);
  // Its own expiry is not the point: only whether its key is published.
  return jose.jwtVerify(token, jwks, { issuer: admin.issuer, currentDate: new Date(jose.decodeJwt(token).iat! * 1000) }).then(() => true, () => false);
}

/** Every private member a JWK can have, and the PEM of a private key. */
const PRIVATE = /"(d|p|q|dp|dq|qi|oth|k)"\s*:|PRIVATE KEY/;

t.test('list: the keys the server publishes, public material only', async (t) => {
  const answer = await read('/v1/keys');
  t.equal(answer.status, 200);
  const listed = answer.json.items as Key[];
  t.match(listed.find((k) => k.alg === 'RS256/PS256'), { status: 'active', signs: true, public_jwk: { kty: 'RSA', use: 'sig' } });
  t.match(listed.find((k) => k.alg === 'ES256'), { status: 'active', signs: true, public_jwk: { kty: 'EC', crv: 'P-256', alg: 'ES256' } });
  t.same(listed.map((k) => k.kid).sort(), (await publishedKids()).sort(), 'the kids the JWKS publishes');
  for (const key of listed) t.equal(key.public_jwk['kid'], key.kid);
  t.notMatch(answer.text, PRIVATE, 'no private member, no PEM');
  // The private exponent of each key file, as the files hold it: none of it is in the answer.
  for (const name of (await readdir(admin.keysDir)).filter((f) => f.endsWith('.pem'))) {
    const pem = await readFile(`${admin.keysDir}/${name}`, 'utf8');
    const d = String(createPrivateKey(pem).export({ format: 'jwk' }).d);
    t.ok(d.length > 20 && !answer.text.includes(d), `${name}: its private key is not in the answer`);
  }
});

t.test('generate: for an algorithm without a key; one that has one is a 409, an unknown one a 400', async (t) => {
  const created = await write('/v1/keys', { alg: 'EdDSA' });
  t.equal(created.status, 201);
  t.match(created.json, { alg: 'EdDSA', status: 'active', signs: true, public_jwk: { kty: 'OKP', crv: 'Ed25519' } });
  t.notMatch(created.text, PRIVATE);
  t.ok(await waitFor(async () => (await publishedKids()).includes(created.json.kid)), 'the server publishes it');

  const again = await write('/v1/keys', { alg: 'EdDSA' });
  t.equal(again.status, 409);
  t.equal(again.json.code, 'key_change_refused');
  t.match(again.json.detail, /EdDSA already has a signing key; rotate it/);
  t.equal((await write('/v1/keys', { alg: 'PS256' })).status, 409, 'PS256 is served by the RSA key');

  const unknown = await write('/v1/keys', { alg: 'HS256' });
  t.equal(unknown.status, 400);
  t.match(unknown.json.errors, [{ field: 'alg' }]);
  t.equal((await write('/v1/keys', {})).status, 400, 'alg is required');
  t.equal((await keys()).filter((k) => k.alg === 'EdDSA').length, 1, 'one EdDSA key, after all that');

  // A script that generates and rotates at once: key files are named by the second, and the second one takes a suffix.
  const rotated = await write('/v1/keys/rotations', { algorithms: ['EdDSA'], delay_seconds: 3600 });
  t.equal(rotated.status, 201, `a rotation right after the generation: ${rotated.text}`);
  t.match((await keys()).find((k) => k.kid === rotated.json.staged[0].kid), { alg: 'EdDSA', status: 'next' });
});

t.test('two rotations at once: one stages, the other is refused', async (t) => {
  const answers = await Promise.all([1, 2].map(() => write('/v1/keys/rotations', { algorithms: ['ES256'], delay_seconds: 3600 })));
  t.same(answers.map((a) => a.status).sort(), [201, 409], `statuses ${answers.map((a) => a.status).join(', ')}`);
  const refused = answers.find((a) => a.status === 409)!;
  t.match(refused.json.detail, /a rotation is already staged for ES256/);
  const staged = (await keys()).filter((k) => k.status === 'next' && k.alg === 'ES256');
  t.equal(staged.length, 1, 'one staged ES256 key');
  const accepted = answers.find((a) => a.status === 201)!.json;
  t.equal(staged[0]!.kid, accepted.staged[0].kid, 'the one the accepted rotation named');
  t.equal(staged[0]!.activates_at, accepted.activates_at);

  const after = await write('/v1/keys/rotations', { algorithms: ['ES256'] });
  t.equal(after.status, 409, 'and a third, later, too');
  t.equal((await write('/v1/keys/rotations', { algorithms: ['ES384'] })).status, 409, 'an algorithm without a key has nothing to rotate');
  t.equal((await write('/v1/keys/rotations', { delay_seconds: -1 })).status, 400);
});

t.test('a rotation through the API: the JWKS changes when the staged key\'s time comes; tokens signed before still verify', async (t) => {
  const before = await idToken();
  const oldKid = kidOf(before);
  // Long enough, on a busy machine (a code flow with argon2id can take seconds there), to see the new key published while the old one signs.
  const rotated = await write('/v1/keys/rotations', { algorithms: ['RS256'], delay_seconds: 20 });
  t.equal(rotated.status, 201, rotated.text);
  t.match(rotated.json, { delay_seconds: 20, staged: [{ alg: 'RS256', replaces: [oldKid] }] });
  t.equal(rotated.json.warning, undefined, 'a delay longer than the JWKS max-age plus the check interval: no warning');
  const newKid = rotated.json.staged[0].kid as string;
  t.match((await keys()).find((k) => k.kid === newKid), { status: 'next', signs: false });

  t.ok(await waitFor(async () => (await publishedKids()).includes(newKid)), 'the new key is published before it signs');
  t.ok((await publishedKids()).includes(oldKid), 'the old one too');
  t.equal((await publishedKids())[0], oldKid, 'listed first, as the signer of its algorithm');
  t.equal(kidOf(await idToken()), oldKid, 'the old key still signs');

  // The schedule runs on the server's clock (Date.now() in src/keys), which no test can move.
  await until(Date.parse(rotated.json.activates_at));
  const after = await waitFor(async () => {
    const token = await idToken();
    return kidOf(token) === newKid ? token : undefined;
  }, { intervalMs: 100 });
  t.ok(after, 'new ID tokens are signed with the new key');
  t.equal((await publishedKids())[0], newKid, 'the JWKS changed: the new key is listed first now');
  t.ok(await verifies(before), 'a token signed before the rotation still verifies against the JWKS');
  t.ok(after && await verifies(after), 'and one signed after it');
  t.match((await keys()).find((k) => k.kid === oldKid), { status: 'retired', signs: false }, 'the old key is retired, still published');
  t.ok((await publishedKids()).includes(oldKid));
});
