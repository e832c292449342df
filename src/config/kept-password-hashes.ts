/**
 * Password hashes made by another system (a Keycloak realm export, or a
 * setup file's `password_hash`) that Latchkey keeps as they are until the
 * user's first sign-in, when src/accounts/password-hasher.ts verifies the
 * password against them and the account service replaces them with
 * Latchkey's own argon2id. Stored self-describing, in the PHC string format
 * (https://github.com/P-H-C/phc-string-format), salt and hash in base64
 * without padding:
 *
 *   $pbkdf2-<digest>$i=<iterations>$<salt>$<hash>       digest: sha1, sha256, sha512
 *   $argon2<variant>$v=<19|16>$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>
 *                                                       variant: id, i, d (argon2's own form)
 *
 * A hash is refused when verifying it would cost absurdly much — those
 * numbers are the importer's to choose, but every sign-in pays them, on a
 * thread shared with everybody else's — or when it could never match.
 * Pure rules: the config layer judges a file with them, the hasher verifies
 * only what they accept.
 */

export const PBKDF2_DIGESTS = ['sha1', 'sha256', 'sha512'] as const;
export type Pbkdf2Digest = typeof PBKDF2_DIGESTS[number];
export const ARGON2_VARIANTS = ['argon2id', 'argon2i', 'argon2d'] as const;
export type Argon2Variant = typeof ARGON2_VARIANTS[number];

/**
 * The bounds, each above every default Keycloak or OWASP has used: PBKDF2
 * up to 1,300,000 iterations (OWASP 2023 for HMAC-SHA1; Keycloak's own
 * defaults are 20,000 to 600,000), argon2 up to 46 MiB (OWASP) where
 * Keycloak's default is 7 MiB and 5 passes (Keycloak 24+). At these bounds
 * one verification takes about a second here; the work bound keeps memory
 * × passes from multiplying up to minutes.
 */
export const KEPT_HASH_LIMITS = {
  pbkdf2Iterations: 2_000_000,
  argon2MemoryKiB: 262_144,
  argon2Passes: 100,
  argon2Lanes: 16,
  /** memory (KiB) × passes */
  argon2Work: 4_194_304,
  saltBytes: { min: 8, max: 256 },
  hashBytes: { min: 16, max: 256 },
} as const;

export interface Pbkdf2Hash {
  scheme: 'pbkdf2';
  digest: Pbkdf2Digest;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

export interface Argon2Hash {
  scheme: 'argon2';
  variant: Argon2Variant;
  /** 0x13 (1.3) or 0x10 (1.0). */
  version: 19 | 16;
  memoryKiB: number;
  passes: number;
  lanes: number;
  salt: Buffer;
  hash: Buffer;
}

export type KeptHash = Pbkdf2Hash | Argon2Hash;

const PBKDF2_FORM = /^\$pbkdf2-(sha1|sha256|sha512)\$i=(\d{1,10})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;
const ARGON2_FORM = /^\$(argon2id|argon2i|argon2d)\$(?:v=(\d{1,3})\$)?m=(\d{1,10}),t=(\d{1,10}),p=(\d{1,10})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** The hash a stored or declared string holds, or why it is not one Latchkey keeps. */
export function readKeptHash(value: string): { hash: KeptHash; problem?: undefined } | { hash?: undefined; problem: string } {
  const pbkdf2 = PBKDF2_FORM.exec(value);
  if (pbkdf2) {
    const [, digest, iterations, salt, hash] = pbkdf2;
    const parts = { salt: unpaddedBase64(salt!), hash: unpaddedBase64(hash!) };
    if (!parts.salt || !parts.hash) return { problem: 'salt and hash must be base64 without padding' };
    const kept: Pbkdf2Hash = { scheme: 'pbkdf2', digest: digest as Pbkdf2Digest, iterations: Number(iterations), salt: parts.salt, hash: parts.hash };
    const problem = pbkdf2Problem(kept);
    return problem ? { problem } : { hash: kept };
  }
  const argon2 = ARGON2_FORM.exec(value);
  if (argon2) {
    const [, variant, version = '16', memory, passes, lanes, salt, hash] = argon2;
    const parts = { salt: unpaddedBase64(salt!), hash: unpaddedBase64(hash!) };
    if (!parts.salt || !parts.hash) return { problem: 'salt and hash must be base64 without padding' };
    if (version !== '19' && version !== '16') return { problem: 'argon2 version must be 19 (1.3) or 16 (1.0)' };
    const kept: Argon2Hash = {
      scheme: 'argon2', variant: variant as Argon2Variant, version: Number(version) as 19 | 16,
      memoryKiB: Number(memory), passes: Number(passes), lanes: Number(lanes), salt: parts.salt, hash: parts.hash,
    };
    const problem = argon2Problem(kept);
    return problem ? { problem } : { hash: kept };
  }
  return { problem: 'not a password hash Latchkey keeps: $argon2id$…, $argon2i$…, $argon2d$… or $pbkdf2-sha1|sha256|sha512$i=…$salt$hash' };
}

export function parseKeptHash(value: string): KeptHash | undefined {
  return readKeptHash(value).hash;
}

export function pbkdf2Problem({ iterations, salt, hash }: Pick<Pbkdf2Hash, 'iterations' | 'salt' | 'hash'>): string | undefined {
  if (!Number.isSafeInteger(iterations) || iterations < 1 || iterations > KEPT_HASH_LIMITS.pbkdf2Iterations) {
    return `iterations must be 1 to ${KEPT_HASH_LIMITS.pbkdf2Iterations.toLocaleString('en')}`;
  }
  return bytesProblem(salt, hash);
}

export function argon2Problem({ memoryKiB, passes, lanes, salt, hash }: Pick<Argon2Hash, 'memoryKiB' | 'passes' | 'lanes' | 'salt' | 'hash'>): string | undefined {
  const limits = KEPT_HASH_LIMITS;
  const whole = (n: number, min: number, max: number) => Number.isSafeInteger(n) && n >= min && n <= max;
  if (!whole(lanes, 1, limits.argon2Lanes)) return `parallelism must be 1 to ${limits.argon2Lanes}`;
  // argon2 needs 8 KiB per lane at least.
  if (!whole(memoryKiB, 8 * lanes, limits.argon2MemoryKiB)) return `memory must be ${8 * lanes} to ${limits.argon2MemoryKiB} KiB`;
  if (!whole(passes, 1, limits.argon2Passes)) return `iterations must be 1 to ${limits.argon2Passes}`;
  if (memoryKiB * passes > limits.argon2Work) return `memory × iterations must be at most ${limits.argon2Work} KiB (about a second per sign-in)`;
  return bytesProblem(salt, hash);
}

function bytesProblem(salt: Buffer, hash: Buffer): string | undefined {
  const { saltBytes, hashBytes } = KEPT_HASH_LIMITS;
  if (salt.length < saltBytes.min || salt.length > saltBytes.max) return `salt must be ${saltBytes.min} to ${saltBytes.max} bytes`;
  if (hash.length < hashBytes.min || hash.length > hashBytes.max) return `hash must be ${hashBytes.min} to ${hashBytes.max} bytes`;
  return undefined;
}

export function formatKeptHash(kept: KeptHash): string {
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/=+$/, '');
  if (kept.scheme === 'pbkdf2') return `$pbkdf2-${kept.digest}$i=${kept.iterations}$${b64(kept.salt)}$${b64(kept.hash)}`;
  return `$${kept.variant}$v=${kept.version}$m=${kept.memoryKiB},t=${kept.passes},p=${kept.lanes}$${b64(kept.salt)}$${b64(kept.hash)}`;
}

/** Strict: the bytes, only when `text` is exactly their unpadded base64 (nothing silently skipped). */
function unpaddedBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64').replace(/=+$/, '') === text ? bytes : undefined;
}

/** Strict standard base64 with its padding (Keycloak's secretData), or undefined. */
export function paddedBase64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}
