import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isArgon2idHash, MAX_SECRET_LENGTH, type PasswordHasher } from '../accounts/password-hasher.ts';

/**
 * Client secrets are never stored in plain text. Two stored forms:
 *
 * - `$hmac-sha256$<digest>` for secrets Latchkey generates (256 bits of
 *   entropy): a keyed digest is as strong as a slow hash against guessing at
 *   that entropy, and verifying it costs microseconds.
 * - `$argon2id$…` for secrets a person chose (declared in the config file):
 *   a slow hash is needed there, and successful verifications are cached so
 *   that client_credentials does not pay ~35 ms per token.
 *
 * The cache holds only positive results, keyed by a digest of (client, stored
 * hash, presented secret): changing or removing the secret changes the key,
 * so the cache can never accept a secret the database no longer holds.
 *
 * Every failure costs one argon2id verification, whatever decided it: a
 * wrong generated secret and an unknown client pay for one against a dummy
 * hash (`payForFailure`), so that the time of an answer does not tell which
 * clients exist or how their secrets are stored.
 */
const HMAC_PREFIX = '$hmac-sha256$';

export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function digestGeneratedSecret(secret: string, digestKey: Buffer): string {
  return HMAC_PREFIX + createHmac('sha256', digestKey).update(secret).digest('base64url');
}

export function isStoredSecretForm(value: string): boolean {
  return value.startsWith(HMAC_PREFIX) || isArgon2idHash(value);
}

export interface SecretVerifier {
  /**
   * What is known without a slow hash: `correct` or `wrong` for a generated
   * secret (a keyed digest, microseconds), `correct` for a chosen secret
   * verified within the cache's lifetime, `unsure` when only argon2id can tell.
   */
  quickCheck(clientId: string, stored: string, presented: string): 'correct' | 'wrong' | 'unsure';
  /** The full check: argon2id for chosen secrets (single flight, cached when correct). */
  verify(clientId: string, stored: string, presented: string): Promise<boolean>;
  /**
   * One argon2id verification against a dummy hash, for a failure that no
   * slow hash decided (unknown client, wrong generated secret), so that it
   * takes as long as a wrong chosen secret. Throws HasherBusyError like any
   * verification when too many are queued.
   */
  payForFailure(presented: string): Promise<void>;
  /** Makes the dummy hash now, so that the first failure costs what every later one does. */
  prepare(): Promise<void>;
}

export function createSecretVerifier({ digestKey, hasher, cacheSize = 10_000, cacheTtlMs = 15 * 60_000, now = Date.now }: {
  digestKey: Buffer;
  hasher: PasswordHasher;
  cacheSize?: number;
  cacheTtlMs?: number;
  now?: () => number;
}): SecretVerifier {
  const verified = new Map<string, number>(); // key → expiry; Map order doubles as LRU order
  const inflight = new Map<string, Promise<boolean>>();

  function remember(key: string): void {
    verified.delete(key);
    verified.set(key, now() + cacheTtlMs);
    if (verified.size > cacheSize) verified.delete(verified.keys().next().value!);
  }

  const cacheKey = (clientId: string, stored: string, presented: string) =>
    createHash('sha256').update(`${clientId}\0${stored}\0${presented}`).digest('base64url');
  const plausible = (presented: unknown): presented is string =>
    typeof presented === 'string' && presented.length > 0 && presented.length <= MAX_SECRET_LENGTH;

  // The dummy hash costs one argon2id hash, made once per process, with the
  // parameters every chosen secret is hashed with; a failed attempt to make
  // it (hasher busy) is retried by the next failure.
  let dummy: Promise<string> | undefined;
  const dummyHash = () => {
    dummy ??= hasher.hash(randomBytes(16).toString('base64url')).catch((error: unknown) => {
      dummy = undefined;
      throw error;
    });
    return dummy;
  };

  const quickCheck: SecretVerifier['quickCheck'] = (clientId, stored, presented) => {
    if (!plausible(presented)) return 'wrong';
    if (stored.startsWith(HMAC_PREFIX)) {
      const expected = Buffer.from(stored);
      const actual = Buffer.from(digestGeneratedSecret(presented, digestKey));
      return expected.length === actual.length && timingSafeEqual(expected, actual) ? 'correct' : 'wrong';
    }
    if (!isArgon2idHash(stored)) return 'wrong';
    const key = cacheKey(clientId, stored, presented);
    const expiry = verified.get(key);
    if (expiry === undefined || expiry <= now()) return 'unsure';
    remember(key);
    return 'correct';
  };

  return {
    quickCheck,
    async verify(clientId, stored, presented) {
      const quick = quickCheck(clientId, stored, presented);
      if (quick !== 'unsure') return quick === 'correct';
      const key = cacheKey(clientId, stored, presented);
      // Single flight: a burst of requests with the same credentials (a
      // service starting 64 workers) pays for one argon2 verification, not 64.
      let check = inflight.get(key);
      if (!check) {
        check = hasher.verify(stored, presented).finally(() => inflight.delete(key));
        inflight.set(key, check);
      }
      const ok = await check;
      if (ok) remember(key);
      else verified.delete(key);
      return ok;
    },
    async payForFailure(presented) {
      // Over-long secrets are refused before hashing on every path alike.
      if (typeof presented !== 'string' || presented.length > MAX_SECRET_LENGTH) return;
      await hasher.verify(await dummyHash(), presented);
    },
    async prepare() {
      await dummyHash();
    },
  };
}
