import { pbkdf2, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import argon2 from 'argon2';
import { parseKeptHash, type Pbkdf2Hash } from '../config/index.ts';
import { HasherBusyError } from '../errors/index.ts';

const pbkdf2Async = promisify(pbkdf2);

/**
 * argon2id at OWASP / ASVS parameters (m = 19 MiB, t = 2, p = 1): ~35 ms per
 * hash here, where the library defaults cost ~300 ms. argon2 runs on libuv's
 * thread pool, off the event loop; a small gate bounds how many run at once so
 * that a burst of logins (or of wrong client secrets) queues instead of
 * starving token and introspection requests of threads and memory.
 */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longer inputs are refused before hashing: argon2 cost grows with input size. */
export const MAX_SECRET_LENGTH = 1024;

/**
 * What an account without a usable password stores (a Keycloak user without
 * credentials): no hash, so nothing verifies against it, as `!` in
 * /etc/shadow. Such an account signs in once a password is set for it.
 */
export const NO_PASSWORD = '!no-password';

export interface PasswordHasher {
  hash(secret: string): Promise<string>;
  /** Latchkey's own argon2id hashes: passwords set here, and client secrets. */
  verify(hash: string, secret: string): Promise<boolean>;
  /**
   * A hash kept from another system (src/config/kept-password-hashes.ts):
   * Keycloak's PBKDF2 or argon2, or an argon2id at other parameters than
   * Latchkey's. Verified with the password as typed, as the system that made
   * it did, and NFC-normalised if that differs (Latchkey's own older hashes).
   * False for anything that is not such a hash.
   */
  verifyKept(hash: string, secret: string): Promise<boolean>;
}

export function isArgon2idHash(value: string): boolean {
  return value.startsWith('$argon2id$');
}

/**
 * Whether a stored password hash is Latchkey's argon2id at today's
 * parameters; any other (a kept hash, an older Latchkey one) is replaced at
 * the user's next sign-in.
 */
export function isCurrentHash(value: string): boolean {
  if (!isArgon2idHash(value)) return false;
  try {
    return !argon2.needsRehash(value, ARGON2_OPTIONS);
  } catch {
    return false; // not a PHC string: verifying it fails too
  }
}

export function createPasswordHasher({ concurrency = 2, maxQueue = 256 } = {}): PasswordHasher {
  let running = 0;
  const waiting: Array<() => void> = [];

  async function gated<T>(work: () => Promise<T>): Promise<T> {
    if (running < concurrency) {
      running += 1;
    } else {
      if (waiting.length >= maxQueue) throw new HasherBusyError('too many password verifications queued');
      // The finishing call hands its slot over directly, so `running` never overshoots.
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running -= 1;
    }
  }

  return {
    hash: (secret) => gated(() => argon2.hash(secret.normalize('NFC'), ARGON2_OPTIONS)),
    verify: (hash, secret) => {
      if (secret.length > MAX_SECRET_LENGTH || !isArgon2idHash(hash)) return Promise.resolve(false);
      return gated(async () => {
        try {
          return await argon2.verify(hash, secret.normalize('NFC'));
        } catch {
          return false; // a malformed stored hash verifies nothing
        }
      });
    },
    async verifyKept(hash, secret) {
      const kept = parseKeptHash(hash);
      if (!kept || secret.length > MAX_SECRET_LENGTH) return false;
      const normalised = secret.normalize('NFC');
      for (const candidate of normalised === secret ? [secret] : [secret, normalised]) {
        const matches = await gated(async () => {
          if (kept.scheme === 'pbkdf2') return pbkdf2Matches(kept, candidate);
          try {
            // The stored form is argon2's own PHC string, with the parameters it was made with.
            return await argon2.verify(hash, candidate);
          } catch {
            return false;
          }
        });
        if (matches) return true;
      }
      return false;
    },
  };
}

/**
 * PBKDF2 as Keycloak computes it (Pbkdf2PasswordHashProvider: Java's
 * PBKDF2WithHmacSHA*, the password's characters as UTF-8), on libuv's thread
 * pool; the derived length is the stored hash's, as Keycloak's `keySize`
 * takes it, and the comparison takes the same time wherever they differ.
 */
async function pbkdf2Matches(kept: Pbkdf2Hash, secret: string): Promise<boolean> {
  const derived = await pbkdf2Async(Buffer.from(secret, 'utf8'), kept.salt, kept.iterations, kept.hash.length, kept.digest);
  return timingSafeEqual(derived, kept.hash);
}
