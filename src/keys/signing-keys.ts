import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Logger } from 'pino';

/**
 * Signing keys live as PEM files under the keys directory so that tokens
 * survive restarts and every instance sharing the directory signs alike.
 * oidc-provider's built-in development keys are never used: with no key on
 * disk, the first start generates one RSA and one EC key and persists them.
 *
 * Loading is a list of sources turned into JWKs; further sources (encrypted
 * PEM, PKCS#12 keystores) plug in as more entries of that list.
 */
export interface SigningKey {
  kid: string;
  alg: string;
  source: string;
  /** Private JWK, for oidc-provider's `jwks` option only. */
  jwk: JWK;
}

export class KeyLoadError extends Error {
  override name = 'KeyLoadError';
}

const GENERATED = [
  { file: 'signing-rs256.pem', make: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey },
  { file: 'signing-es256.pem', make: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey },
];

export async function loadSigningKeys(keysDir: string, logger: Logger): Promise<SigningKey[]> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  let files = await pemFiles(keysDir);
  if (files.length === 0) {
    for (const { file, make } of GENERATED) {
      const pem = make().export({ type: 'pkcs8', format: 'pem' });
      try {
        await writeFile(path.join(keysDir, file), pem, { mode: 0o600, flag: 'wx' });
        await chmod(path.join(keysDir, file), 0o600); // the umask may have narrowed nothing, but be exact
      } catch (error) {
        // Another instance sharing the directory generated it first: keep theirs.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
    }
    logger.warn({ keysDir }, 'no signing key found: generated RS256 and ES256 keys (PKCS#8, mode 0600); back them up or bring your own');
    files = await pemFiles(keysDir);
  }

  const keys: SigningKey[] = [];
  for (const file of files) keys.push(await keyFromPem(path.join(keysDir, file)));

  const seen = new Set<string>();
  for (const key of keys) {
    if (seen.has(key.kid)) throw new KeyLoadError(`${key.source}: duplicate key (kid ${key.kid} is already loaded)`);
    seen.add(key.kid);
  }
  // RS256 first: OIDC requires it for ID tokens and oidc-provider signs with the first matching key.
  return keys.sort((a, b) => rank(a.alg) - rank(b.alg));
}

function rank(alg: string): number {
  return ['RS256', 'ES256', 'ES384', 'PS256', 'EdDSA'].indexOf(alg);
}

async function pemFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.pem')).sort();
}

async function keyFromPem(file: string): Promise<SigningKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey(await readFile(file));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'EACCES' ? 'file is not readable' : 'not a readable unencrypted private key PEM';
    throw new KeyLoadError(`${file}: ${reason}`);
  }
  const alg = algorithmFor(key, file);
  const jwk = key.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { kid, alg, source: file, jwk: { ...jwk, kid, alg, use: 'sig' } };
}

function algorithmFor(key: KeyObject, file: string): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') {
    if ((details?.modulusLength ?? 0) < 2048) throw new KeyLoadError(`${file}: RSA key below 2048 bits`);
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ES256';
    if (details?.namedCurve === 'secp384r1') return 'ES384';
  }
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new KeyLoadError(`${file}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
}
