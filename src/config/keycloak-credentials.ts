/**
 * A Keycloak user's password credential, as a password Latchkey can check.
 * Keycloak exports it in one of three shapes (CredentialRepresentation):
 *
 * - since Keycloak 10, `secretData` and `credentialData` as JSON *strings*
 *   (PasswordSecretData: value and salt in base64, additionalParameters;
 *   PasswordCredentialData: hashIterations, algorithm, additionalParameters —
 *   for argon2 hashLength, memory, type, version and parallelism, each a
 *   one-element list of strings);
 * - before it, `hashedSaltedValue`, `salt`, `hashIterations`, `algorithm`
 *   on the credential itself;
 * - hand-written files: a plain `value`, hashed on import like any
 *   declared password.
 *
 * A hash made with `pbkdf2` (HMAC-SHA1), `pbkdf2-sha256`, `pbkdf2-sha512`
 * or `argon2` is kept as it is (kept-password-hashes.ts) and replaced by
 * Latchkey's argon2id at the user's first sign-in. A hash that cannot be
 * read, or would cost absurdly much to verify, is an error naming the
 * field; a hash of another algorithm (a provider Keycloak was extended
 * with) leaves the user without a password, and says so.
 */
import { Findings, isPlainObject, shown, type KeycloakObject } from './keycloak-fields.ts';
import {
  argon2Problem, formatKeptHash, paddedBase64, pbkdf2Problem,
  type Argon2Hash, type KeptHash, type Pbkdf2Digest,
} from './kept-password-hashes.ts';

export type KeycloakPassword =
  | { kind: 'hash'; hash: string }
  | { kind: 'plain'; password: string }
  | { kind: 'none' };

/** Keycloak's password hash provider ids and the PBKDF2 digest each uses (Pbkdf2*PasswordHashProviderFactory). */
const PBKDF2_PROVIDERS: Readonly<Record<string, Pbkdf2Digest>> = {
  pbkdf2: 'sha1',
  'pbkdf2-sha256': 'sha256',
  'pbkdf2-sha512': 'sha512',
};

/** Keycloak's argon2 `type` and `version` values (Argon2Parameters) as argon2's own names. */
const ARGON2_TYPES: Readonly<Record<string, Argon2Hash['variant']>> = { id: 'argon2id', i: 'argon2i', d: 'argon2d' };
const ARGON2_VERSIONS: Readonly<Record<string, Argon2Hash['version']>> = { '1.3': 19, '1.0': 16 };

/** Credential types that are other factors or history, not a password Latchkey could use. */
const OTHER_FACTORS: Readonly<Record<string, string>> = {
  otp: 'one-time-password (OTP) credentials',
  totp: 'one-time-password (OTP) credentials',
  hotp: 'one-time-password (OTP) credentials',
  webauthn: 'WebAuthn credentials',
  'webauthn-passwordless': 'WebAuthn credentials',
  'recovery-authn-codes': 'recovery codes',
  'password-history': 'password history',
};

/** The user's password, reading every credential of `user` (fields marked as read). */
export function keycloakPassword(user: KeycloakObject, username: string, notImported: Findings, attention: Findings): KeycloakPassword {
  let password: KeycloakPassword = { kind: 'none' };
  for (const credential of user.objects('credentials')) {
    const type = credential.string('type') ?? 'password';
    credential.ignore('id', 'userLabel', 'createdDate', 'priority', 'device', 'counter', 'digits', 'period', 'config');
    if (type !== 'password') {
      notImported.add(OTHER_FACTORS[type] ?? `credentials of type ${shown(type)}`, username);
      credential.ignore(...credential.keys());
      continue;
    }
    if (password.kind !== 'none') credential.fail('', `user "${shown(username)}" has a second password credential`);
    password = readPassword(credential, username, attention);
    if (credential.boolean('temporary')) notImported.add('temporary passwords (Keycloak asks for a new one at the next sign-in; Latchkey does not)', username);
  }
  return password;
}

function readPassword(credential: KeycloakObject, username: string, attention: Findings): KeycloakPassword {
  const user = `user "${shown(username)}"`;
  const value = credential.string('value');
  if (value !== undefined) return { kind: 'plain', password: value };

  const secretJson = credential.string('secretData');
  const credentialJson = credential.string('credentialData');
  let secret: { value?: unknown; salt?: unknown };
  let data: { hashIterations?: unknown; algorithm?: unknown; additionalParameters?: unknown };
  if (secretJson !== undefined || credentialJson !== undefined) {
    secret = parseJson(credential, 'secretData', secretJson, user);
    data = parseJson(credential, 'credentialData', credentialJson, user);
  } else if (credential.raw('hashedSaltedValue') !== undefined) {
    // Keycloak before 10 put the same data on the credential itself.
    secret = { value: credential.string('hashedSaltedValue'), salt: credential.string('salt') };
    data = { hashIterations: credential.integer('hashIterations'), algorithm: credential.string('algorithm') ?? 'pbkdf2-sha256' };
  } else {
    credential.fail('', `${user}: a password credential needs value, or secretData and credentialData`);
  }

  const where = secretJson !== undefined ? { secret: 'secretData', data: 'credentialData' } : { secret: 'hashedSaltedValue', data: 'hashIterations' };
  const algorithm = data.algorithm;
  if (typeof algorithm !== 'string') credential.fail(where.data, `${user}: algorithm must be a string`);
  const hash = bytes(credential, where.secret, secret.value, 'value', user);
  const salt = bytes(credential, secretJson !== undefined ? 'secretData' : 'salt', secret.salt, 'salt', user);
  const iterations = data.hashIterations;
  if (!Number.isSafeInteger(iterations)) credential.fail(where.data, `${user}: hashIterations must be a whole number`);

  let kept: KeptHash;
  if (Object.hasOwn(PBKDF2_PROVIDERS, algorithm)) {
    kept = { scheme: 'pbkdf2', digest: PBKDF2_PROVIDERS[algorithm]!, iterations: iterations as number, salt, hash };
    const problem = pbkdf2Problem(kept);
    if (problem) credential.fail(where.data, `${user}: ${problem}`);
  } else if (algorithm === 'argon2') {
    kept = argon2Hash(credential, data.additionalParameters, iterations as number, salt, hash, user);
  } else {
    attention.add(`users whose Keycloak password hash Latchkey cannot verify (cannot sign in until a password is set with \`latchkey users passwd\`)`, `${shown(username)} (${shown(algorithm)})`);
    return { kind: 'none' };
  }
  return { kind: 'hash', hash: formatKeptHash(kept) };
}

function argon2Hash(credential: KeycloakObject, parameters: unknown, passes: number, salt: Buffer, hash: Buffer, user: string): Argon2Hash {
  const fail = (problem: string): never => credential.fail('credentialData', `${user}: ${problem}`);
  if (parameters !== undefined && !isPlainObject(parameters)) fail('additionalParameters must be an object');
  const parameter = (name: string, fallback?: string): string => {
    const value = (parameters as Record<string, unknown> | undefined)?.[name];
    // Keycloak writes each parameter as a one-element list of strings.
    const first = Array.isArray(value) ? value[0] : value;
    if (first === undefined && fallback !== undefined) return fallback;
    if (typeof first !== 'string') return fail(`additionalParameters.${name} must be a list holding one string`);
    return first;
  };
  const number = (name: string): number => {
    const text = parameter(name);
    if (!/^\d{1,10}$/.test(text)) fail(`additionalParameters.${name} must be a whole number`);
    return Number(text);
  };
  // Keycloak's defaults (Argon2Parameters) where a hand-made credential leaves them out.
  const type = parameter('type', 'id');
  const version = parameter('version', '1.3');
  if (!Object.hasOwn(ARGON2_TYPES, type)) fail('additionalParameters.type must be id, i or d');
  if (!Object.hasOwn(ARGON2_VERSIONS, version)) fail('additionalParameters.version must be 1.3 or 1.0');
  const kept: Argon2Hash = {
    scheme: 'argon2', variant: ARGON2_TYPES[type]!, version: ARGON2_VERSIONS[version]!,
    memoryKiB: number('memory'), passes, lanes: number('parallelism'), salt, hash,
  };
  if (number('hashLength') !== hash.length) fail(`additionalParameters.hashLength says ${number('hashLength')} bytes, the value holds ${hash.length}`);
  const problem = argon2Problem(kept);
  if (problem) fail(problem);
  return kept;
}

function parseJson(credential: KeycloakObject, field: string, text: string | undefined, user: string): Record<string, unknown> {
  if (text === undefined) credential.fail(field, `${user}: is required with ${field === 'secretData' ? 'credentialData' : 'secretData'}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    credential.fail(field, `${user}: not JSON (Keycloak writes it as a JSON object inside a string)`);
  }
  if (!isPlainObject(parsed)) credential.fail(field, `${user}: must hold a JSON object`);
  return parsed;
}

function bytes(credential: KeycloakObject, field: string, value: unknown, name: string, user: string): Buffer {
  if (typeof value !== 'string') credential.fail(field, `${user}: ${name} must be a base64 string`);
  const decoded = paddedBase64(value);
  if (!decoded) credential.fail(field, `${user}: ${name} is not base64`);
  return decoded;
}
