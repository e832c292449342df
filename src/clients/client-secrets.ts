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
  verify(clientId: string, stored: string, presented: string): Promise<boolean>;
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

  return {
    async verify(clientId, stored, presented) {
      if (typeof presented !== 'string' || presented.length === 0 || presented.length > MAX_SECRET_LENGTH) return false;
      if (stored.startsWith(HMAC_PREFIX)) {
        const expected = Buffer.from(stored);
        const actual = Buffer.from(digestGeneratedSecret(presented, digestKey));
        return expected.length === actual.length && timingSafeEqual(expected, actual);
      }
      if (!isArgon2idHash(stored)) return false;

      const key = createHash('sha256').update(`${clientId}\0${stored}\0${presented}`).digest('base64url');
      const expiry = verified.get(key);
      if (expiry !== undefined && expiry > now()) {
        remember(key);
        return true;
      }
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
  };
}
