import { createHash, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Logger } from 'pino';
import type { LatchkeyConfig } from '../config/index.ts';
import { KeyLoadError } from '../errors/index.ts';
import { isKeystoreFile, readKeyFile, type KeyEntry, type Secrets } from './key-material.ts';
import { algorithmsServedBy, SIGNING_ALGORITHMS, type SigningAlgorithm } from './algorithms.ts';
import { readKeyState, statusAt, type KeySchedule, type KeyStatus } from './key-state.ts';

/**
 * Signing keys live in files (PEM or PKCS#12) under the keys folder, or in
 * files the configuration names, so that tokens survive restarts and every
 * instance sharing the folder signs alike. oidc-provider's development keys
 * are never used: with no key at all, the first start generates one RSA and
 * one EC key as PKCS#8 PEM (mode 0600) and reuses them ever after.
 */
export interface SigningKey {
  /** RFC 7638 thumbprint: stable across restarts and instances. */
  kid: string;
  /** RS256 stands for RSA keys, which sign RS256 and PS256 alike. */
  alg: string;
  kty: string;
  source: string;
  status: KeyStatus;
  /** Whether oidc-provider may sign with it (the others are published for verification). */
  signs: boolean;
  schedule: KeySchedule | undefined;
  modified: Date;
  /** SHA-256 of the SubjectPublicKeyInfo, base64url. */
  fingerprint: string;
  /** Private JWK for oidc-provider's `jwks` option (never served: the engine publishes public members only). */
  jwk: JWK;
}

export interface KeySet {
  /** Every key found, including expired ones (for `latchkey keys list`). */
  all: SigningKey[];
  /** What the JWKS serves: signers first, so oidc-provider picks them. */
  published: SigningKey[];
  /** The algorithms with an active signing key. */
  signingAlgs: string[];
  idTokenAlg: string;
  /** Changes whenever what is published or what signs changes. */
  fingerprint: string;
  /** x5t#S256 by kid, for keys that came with a certificate (oidc-provider does not publish it itself). */
  x5tS256: Map<string, string>;
}

export interface KeyOptions {
  keysDir: string;
  /** Key files or keystores outside the keys folder. */
  keyFiles?: readonly string[];
  secrets?: Secrets;
  /** The keystore entry that signs; the store's other entries are published for verification. */
  primaryAlias?: string | undefined;
  idTokenAlg?: string;
  /** Generate the default keys when none exist (the server); `false` for read-only use (CLI list). */
  generate?: boolean;
  now?: number;
}

/** The key options as the configuration gives them: the server and the CLI read the same keys. */
export function keyOptionsOf(config: Pick<LatchkeyConfig, 'keysDir' | 'keys'>, { generate }: { generate: boolean }): KeyOptions {
  return {
    keysDir: config.keysDir,
    keyFiles: config.keys.files,
    secrets: config.keys,
    primaryAlias: config.keys.primaryAlias,
    idTokenAlg: config.keys.idTokenAlg,
    generate,
  };
}

const FIRST_START = [['signing-rs256.pem', 'RS256'], ['signing-es256.pem', 'ES256']] as const;

export async function loadKeySet(options: KeyOptions, logger?: Logger): Promise<KeySet> {
  const { keysDir, keyFiles = [], secrets = {}, primaryAlias, idTokenAlg = 'RS256', generate = true, now = Date.now() } = options;
  if (generate) await mkdir(keysDir, { recursive: true, mode: 0o700 });

  let files = [...await keyFilesIn(keysDir), ...keyFiles.map((f) => path.resolve(f))];
  if (files.length === 0 && generate) {
    for (const [file, alg] of FIRST_START) await writeNewKey(keysDir, file, alg);
    logger?.warn({ keysDir }, 'no signing key found: generated RS256 and ES256 keys (PKCS#8, mode 0600); back them up or bring your own');
    files = await keyFilesIn(keysDir);
  }
  if (files.length === 0) throw new KeyLoadError(`${keysDir}: no signing key (start the server once to generate keys, or add your own)`);

  const state = await readKeyState(keysDir);
  const entries: { entry: KeyEntry; file: string; keystore: boolean }[] = [];
  for (const file of files) {
    for (const entry of await readKeyFile(file, secrets)) entries.push({ entry, file, keystore: isKeystoreFile(file) });
  }

  const keystoreEntries = entries.filter((e) => e.keystore);
  if (primaryAlias !== undefined && !keystoreEntries.some((e) => e.entry.alias === primaryAlias)) {
    throw new KeyLoadError(`LATCHKEY_KEYSTORE_ALIAS: no key entry "${primaryAlias}" in ${keystoreEntries.length ? [...new Set(keystoreEntries.map((e) => e.file))].join(', ') : 'any keystore'}`);
  }
  for (const file of new Set(keystoreEntries.map((e) => e.file))) {
    const inFile = keystoreEntries.filter((e) => e.file === file);
    if (inFile.length > 1 && primaryAlias === undefined) {
      throw new KeyLoadError(`${file}: holds ${inFile.length} keys (${inFile.map((e) => e.entry.alias ?? '?').join(', ')}); set LATCHKEY_KEYSTORE_ALIAS to the one that signs`);
    }
  }

  const all: SigningKey[] = [];
  const seen = new Map<string, string>();
  for (const { entry, file, keystore } of entries) {
    const key = await describe(entry, file, state.keys, now);
    const earlier = seen.get(key.kid);
    if (earlier) throw new KeyLoadError(`${entry.source}: duplicate key (kid ${key.kid} is also in ${earlier})`);
    seen.set(key.kid, entry.source);
    if (keystore && primaryAlias !== undefined && entry.alias !== primaryAlias && key.status === 'active') key.status = 'verify-only';
    all.push(key);
  }

  // One signer per algorithm: the most recently activated active key.
  const byActivation = (a: SigningKey, b: SigningKey) =>
    Date.parse(b.schedule?.activates_at ?? '1970-01-01') - Date.parse(a.schedule?.activates_at ?? '1970-01-01') || a.source.localeCompare(b.source);
  const signerOf = new Map<string, SigningKey>();
  for (const key of all.filter((k) => k.status === 'active').sort(byActivation)) {
    if (signerOf.has(key.alg)) key.status = 'verify-only';
    else signerOf.set(key.alg, key);
  }

  if (!signerOf.has('RS256')) {
    if (!generate) throw new KeyLoadError(`${keysDir}: no active RSA key, and OpenID Connect requires RS256 for ID tokens`);
    // OIDC Core §15.1: RS256 must be available for ID tokens whatever else the operator brought.
    const written = await writeNewKey(keysDir, 'signing-rs256.pem', 'RS256');
    if (!written) throw new KeyLoadError(`${keysDir}: no active RSA key (signing-rs256.pem exists but does not sign; see \`latchkey keys list\`)`);
    logger?.warn({ keysDir }, 'no active RSA key: generated signing-rs256.pem, since OpenID Connect requires RS256 for ID tokens');
    return loadKeySet(options, logger);
  }

  for (const key of all) {
    key.signs = signerOf.get(key.alg) === key;
    if (!key.signs) key.jwk = { ...key.jwk, key_ops: ['verify'] };
  }
  const signingAlgs = [...signerOf.keys()].flatMap(algorithmsServedBy);
  if (!signingAlgs.includes(idTokenAlg)) {
    throw new KeyLoadError(`LATCHKEY_ID_TOKEN_ALG=${idTokenAlg}: no active key signs ${idTokenAlg} (have ${signingAlgs.join(', ')})`);
  }

  const published = all
    .filter((k) => k.status !== 'expired')
    .sort((a, b) => Number(b.signs) - Number(a.signs) || rank(a.alg) - rank(b.alg) || byActivation(a, b));
  const x5tS256 = new Map<string, string>();
  for (const { entry } of entries) {
    const [leaf] = entry.certificates;
    const key = all.find((k) => k.source === entry.source);
    if (leaf && key) x5tS256.set(key.kid, createHash('sha256').update(leaf.raw).digest('base64url'));
  }
  return {
    all,
    published,
    signingAlgs,
    idTokenAlg,
    fingerprint: JSON.stringify(published.map((k) => [k.kid, k.signs])),
    x5tS256,
  };
}

async function describe(entry: KeyEntry, file: string, schedules: Record<string, KeySchedule>, now: number): Promise<SigningKey> {
  const source = entry.source;
  const alg = algorithmFor(entry.privateKey, source);
  const privateJwk = entry.privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(privateJwk, 'sha256');
  const schedule = schedules[kid];
  const spki = createPublicKey(entry.privateKey).export({ format: 'der', type: 'spki' });
  return {
    kid,
    alg,
    kty: String(privateJwk.kty),
    source,
    status: statusAt(schedule, now),
    signs: false,
    schedule,
    modified: (await stat(file)).mtime,
    fingerprint: createHash('sha256').update(spki).digest('base64url'),
    jwk: {
      ...privateJwk,
      kid,
      use: 'sig',
      // RSA keys carry no `alg` so one key serves RS256 and PS256.
      ...(alg === 'RS256' ? {} : { alg }),
      ...(entry.certificates.length ? { x5c: entry.certificates.map((c) => c.raw.toString('base64')) } : {}),
    },
  };
}

function rank(alg: string): number {
  return SIGNING_ALGORITHMS.indexOf(alg as SigningAlgorithm);
}

async function keyFilesIn(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new KeyLoadError(`${dir}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  return names.filter((f) => /\.(pem|key|p12|pfx)$/i.test(f)).sort().map((f) => path.join(dir, f));
}

function algorithmFor(key: KeyObject, source: string): string {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss') {
    const bits = details?.modulusLength ?? 0;
    if (bits < 2048) throw new KeyLoadError(`${source}: RSA key of ${bits} bits; at least 2048 are required`);
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ES256';
    if (details?.namedCurve === 'secp384r1') return 'ES384';
    throw new KeyLoadError(`${source}: EC curve ${details?.namedCurve ?? 'unknown'} is not supported (use P-256 or P-384)`);
  }
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  throw new KeyLoadError(`${source}: unsupported key type ${key.asymmetricKeyType ?? 'unknown'} (use RSA, EC P-256/P-384 or Ed25519)`);
}

/** A new private key for `alg`, PKCS#8 PEM. */
export function generatePrivateKey(alg: SigningAlgorithm): KeyObject {
  switch (alg) {
    case 'RS256':
    case 'PS256': return generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    case 'ES256': return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    case 'ES384': return generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey;
    case 'EdDSA': return generateKeyPairSync('ed25519').privateKey;
  }
}

/** The kid a key gets once in the keys folder (its RFC 7638 thumbprint), known before its file is written. */
export async function keyIdOf(privateKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(privateKey.export({ format: 'jwk' }) as JWK, 'sha256');
}

/**
 * Writes a new key file with mode 0600; `wx` so that two instances starting
 * at once keep whichever was written first. Returns the file, or undefined
 * when it already existed.
 */
export async function writeNewKey(keysDir: string, file: string, alg: SigningAlgorithm, privateKey: KeyObject = generatePrivateKey(alg)): Promise<string | undefined> {
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  const target = path.join(keysDir, file);
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' });
  try {
    await writeFile(target, pem, { mode: 0o600, flag: 'wx' });
    await chmod(target, 0o600); // exact, whatever the umask
    return target;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return undefined;
  }
}
