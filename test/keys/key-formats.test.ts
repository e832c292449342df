import { createHash, X509Certificate } from 'node:crypto';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as jose from 'jose';
import t from 'tap';
import { loadKeySet, type KeyOptions } from '../../src/keys/signing-keys.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { hasKeytool, keyFixtures, selfSigned } from './key-fixtures.ts';

// Issue 3: every key format people bring loads, with the right algorithm,
// a stable RFC 7638 kid, and certificates published as x5c / x5t#S256.

const f = await keyFixtures(t);
const load = async (files: string[], extra: Partial<KeyOptions> = {}) => {
  const keysDir = path.join(f.dir, `keys-${Math.random().toString(36).slice(2)}`);
  await mkdir(keysDir);
  for (const file of files) await copyFile(f.file(file), path.join(keysDir, file));
  return loadKeySet({ keysDir, generate: false, ...extra });
};

f.openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'rsa-pkcs8.pem');
f.openssl('pkey', '-in', 'rsa-pkcs8.pem', '-traditional', '-out', 'rsa-pkcs1.pem');
f.openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec-sec1.pem');
f.openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-out', 'ec384.pem');
f.openssl('genpkey', '-algorithm', 'ED25519', '-out', 'ed25519.pem');
f.openssl('pkcs8', '-topk8', '-in', 'rsa-pkcs8.pem', '-v2', 'aes-256-cbc', '-passout', 'pass:pem-passphrase', '-out', 'rsa-encrypted.pem');

t.test('PEM: PKCS#8, PKCS#1, SEC1, P-384 and Ed25519 load with their algorithms', async (t) => {
  const keys = await load(['rsa-pkcs1.pem', 'ec-sec1.pem', 'ec384.pem', 'ed25519.pem']);
  t.same(keys.all.map((k) => [k.alg, k.status]).sort(), [['ES256', 'active'], ['ES384', 'active'], ['EdDSA', 'active'], ['RS256', 'active']]);
  t.same([...keys.signingAlgs].sort(), ['ES256', 'ES384', 'EdDSA', 'PS256', 'RS256']);
  for (const key of keys.all) {
    t.equal(key.kid, await jose.calculateJwkThumbprint(key.jwk, 'sha256'), `${key.alg}: kid is the RFC 7638 thumbprint`);
  }
});

t.test('the same key in PKCS#8 and PKCS#1 has the same kid; both at once is a duplicate', async (t) => {
  const [a, b] = [await load(['rsa-pkcs8.pem']), await load(['rsa-pkcs1.pem'])];
  t.equal(a.all[0]!.kid, b.all[0]!.kid);
  await t.rejects(load(['rsa-pkcs8.pem', 'rsa-pkcs1.pem']), { name: 'KeyLoadError', message: /duplicate key/ });
});

t.test('encrypted PKCS#8 with the passphrase', async (t) => {
  const keys = await load(['rsa-encrypted.pem'], { secrets: { pemPassphrase: 'pem-passphrase' } });
  t.equal(keys.all[0]!.kid, (await load(['rsa-pkcs8.pem'])).all[0]!.kid, 'the same key as the plain file');
});

t.test('a PEM with its certificate publishes x5c and x5t#S256', async (t) => {
  selfSigned(f, 'rsa-pkcs8.pem', 'rsa.crt');
  await writeFile(f.file('rsa-with-cert.pem'), `${await readFile(f.file('rsa-pkcs8.pem'), 'utf8')}${await readFile(f.file('rsa.crt'), 'utf8')}`);
  const keys = await load(['rsa-with-cert.pem']);
  const der = new X509Certificate(await readFile(f.file('rsa.crt'))).raw;
  t.same(keys.all[0]!.jwk.x5c, [der.toString('base64')]);
  t.equal(keys.x5tS256.get(keys.all[0]!.kid), createHash('sha256').update(der).digest('base64url'));
});

t.test('PKCS#12 from openssl (current and -legacy encryption)', async (t) => {
  selfSigned(f, 'ec-sec1.pem', 'ec.crt');
  for (const legacy of [false, true]) {
    const name = legacy ? 'legacy.p12' : 'current.p12';
    f.openssl('pkcs12', '-export', ...(legacy ? ['-legacy'] : []), '-inkey', 'ec-sec1.pem', '-in', 'ec.crt', '-name', 'signer', '-passout', 'pass:store-password', '-out', name);
    const keys = await load(['rsa-pkcs8.pem', name], { secrets: { keystorePassword: 'store-password' } });
    const entry = keys.all.find((k) => k.source.endsWith(`${name}#signer`));
    t.ok(entry, `${name}: the entry is loaded by alias`);
    t.equal(entry?.alg, 'ES256');
    t.equal(entry?.status, 'active');
    t.ok(entry?.jwk.x5c, 'its certificate is published');
  }
});

t.test('PKCS#12 from Java keytool: the primary alias signs, the other entry is published for verification', { skip: !hasKeytool && 'keytool is not installed' }, async (t) => {
  const store = ['-storetype', 'PKCS12', '-keystore', f.file('java.p12'), '-storepass', 'java-store-pw', '-keypass', 'java-store-pw', '-validity', '2'];
  f.keytool('-genkeypair', ...store, '-alias', 'signing', '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=signing');
  f.keytool('-genkeypair', ...store, '-alias', 'previous', '-keyalg', 'EC', '-groupname', 'secp256r1', '-dname', 'CN=previous');

  await t.rejects(load(['java.p12'], { secrets: { keystorePassword: 'java-store-pw' } }), { message: /holds 2 keys .*LATCHKEY_KEYSTORE_ALIAS/ }, 'two keys and no alias: refused');
  const keys = await load(['java.p12'], { secrets: { keystorePassword: 'java-store-pw' }, primaryAlias: 'signing' });
  const signing = keys.all.find((k) => k.source.endsWith('#signing'))!;
  const previous = keys.all.find((k) => k.source.endsWith('#previous'))!;
  t.match(signing, { alg: 'RS256', status: 'active', signs: true });
  t.match(previous, { alg: 'ES256', status: 'verify-only', signs: false });
  t.same(previous.jwk.key_ops, ['verify'], 'oidc-provider can never pick it to sign');
  t.ok(keys.published.includes(previous), 'but it is published');
});

t.test('the JWKS a server publishes: cacheable, public members only, certificates included', async (t) => {
  const keysDir = path.join(f.dir, 'served');
  await mkdir(keysDir);
  await copyFile(f.file('rsa-with-cert.pem'), path.join(keysDir, 'rsa-with-cert.pem'));
  await copyFile(f.file('ed25519.pem'), path.join(keysDir, 'ed25519.pem'));
  const server = await startLatchkey(t, { keysDir });
  const response = await fetch(`${server.issuer}/jwks`);
  t.match(response.headers.get('cache-control'), /^public, max-age=\d+$/);
  const jwks = await response.json() as { keys: Record<string, unknown>[] };
  t.same(jwks.keys.map((k) => k['kty']).sort(), ['OKP', 'RSA']);
  for (const key of jwks.keys) {
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.notOk(member in key, `${String(key['kty'])}: no private member ${member}`);
  }
  const rsa = jwks.keys.find((k) => k['kty'] === 'RSA')!;
  t.ok(Array.isArray(rsa['x5c']) && rsa['x5t#S256'], 'x5c and x5t#S256 published');
  const discovery = await (await fetch(`${server.issuer}/.well-known/openid-configuration`)).json() as Record<string, string[]>;
  t.ok(discovery['id_token_signing_alg_values_supported']!.includes('RS256'), 'RS256 for ID tokens');
  t.ok(discovery['id_token_signing_alg_values_supported']!.includes('EdDSA'));
});
