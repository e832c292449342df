/**
 * What each client metadata field may hold on its own, before the fields are
 * judged together (client-rules.ts). One table, so that the setup file, the
 * CLI and the client service refuse the same values with the same words.
 * Messages name the field and never quote a value (a secret may be one).
 */
import { brandingNameProblem, brandingUrlProblem, colorProblem } from './branding-rules.ts';
import { SIGNING_ALGORITHMS } from '../keys/algorithms.ts';
import { roleListProblem } from './role-rules.ts';
import { httpsUrlProblem, resourceIdentifierProblem } from './uri-rules.ts';

export const APPLICATION_TYPES = ['web', 'native'] as const;
/** `password` (RFC 6749 §4.3) only for clients that list it: src/oidc/password-grant.ts. */
export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials', 'password'] as const;
/** client_secret_jwt is absent on purpose: it needs the plain secret as a key, and secrets are stored hashed. */
export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
export const SECRET_AUTH_METHODS: readonly string[] = ['client_secret_basic', 'client_secret_post'];
/** Only the code flow (the provider's responseTypes). */
export const RESPONSE_TYPES = ['code'] as const;
/**
 * `introspection`: may introspect any token of its realm (src/oidc/engine-steps.ts introspectionPolicy).
 * `admin`: its client-credentials tokens are good at the admin API (src/admin/admin-authentication.ts).
 */
export const CLIENT_PERMISSIONS = ['introspection', 'admin'] as const;
/** The admin API's scopes: `admin:read` reads; `admin:write` reads and changes; `admin:metrics` only scrapes /metrics (a Prometheus server's token). */
export const ADMIN_SCOPES: readonly string[] = ['admin:read', 'admin:write', 'admin:metrics'];
/**
 * The realm whose tokens the admin API accepts: admin clients live there,
 * like Keycloak's master realm. It always exists (src/oidc/realm-list.ts).
 */
export const ADMIN_REALM = 'default';

export const MAX_LIFETIME_SECONDS = 366 * 24 * 3600;
/** RFC 6749 §4.1.2 recommends at most 10 minutes for a code. */
export const MAX_CODE_LIFETIME_SECONDS = 600;
/**
 * The lifetimes a client may override (src/oidc/provider-factory.ts reads
 * these from the client); session, grant and interaction lifetimes belong
 * to the realm, and a client value for them would be silently ignored.
 */
export const CLIENT_LIFETIMES: Readonly<Record<string, number>> = {
  access_token: MAX_LIFETIME_SECONDS,
  client_credentials: MAX_LIFETIME_SECONDS,
  refresh_token: MAX_LIFETIME_SECONDS,
  id_token: MAX_LIFETIME_SECONDS,
  authorization_code: MAX_CODE_LIFETIME_SECONDS,
};
const REALM_LIFETIMES = new Set(['session', 'grant', 'interaction']);

const MAX_CLIENT_ID_LENGTH = 256;
/** The longest secret the hasher accepts (src/accounts/password-hasher.ts MAX_SECRET_LENGTH). */
const MAX_SECRET_LENGTH = 1024;
const MAX_REDIRECT_URIS = 100;
const MAX_SCOPE_LENGTH = 2000;
const MAX_CONTACTS = 20;
const MAX_KEYS = 20;
/**
 * RFC 6749 Appendix A.1/A.2: VSCHAR, %x20-7E. oidc-provider refuses a
 * client_id outside it when it loads the client, i.e. at its first request;
 * spaces stay refused in ids, as they always were here.
 */
const CLIENT_ID_CHARACTERS = /^[\x21-\x7E]+$/;
const SECRET_CHARACTERS = /^[\x20-\x7E]+$/;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

export function isScopeToken(value: string): boolean {
  return SCOPE_TOKEN.test(value);
}
/** The address form oidc-provider accepts in `contacts` (it refuses the whole client otherwise). */
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*$/;
/** JWK members that hold private or symmetric key material. */
const PRIVATE_KEY_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];
/** The public members oidc-provider requires of a client's key (RFC 7518 §6; ML-DSA's AKP). */
const PUBLIC_KEY_MEMBERS: Readonly<Record<string, readonly string[]>> = {
  RSA: ['n', 'e'], EC: ['crv', 'x', 'y'], OKP: ['crv', 'x'], AKP: ['alg', 'pub'],
};

export type Report = (field: string, message: string) => void;
type FieldRule = (value: unknown, field: string, report: Report) => void;
type ValueProblem = (value: string) => string | undefined;

const text = (problem?: ValueProblem): FieldRule => (value, field, report) => {
  if (typeof value !== 'string') return report(field, 'must be a string');
  const found = problem?.(value);
  if (found) report(field, found);
};

const oneOf = (allowed: readonly string[]): FieldRule =>
  text((value) => (allowed.includes(value) ? undefined : `must be one of ${allowed.join(', ')}`));

/** A list whose entries are each checked; an entry given twice is refused rather than silently merged. */
const list = (entry: FieldRule, max = Infinity): FieldRule => (value, field, report) => {
  if (!Array.isArray(value)) return report(field, 'must be a list');
  if (value.length > max) return report(field, `must have at most ${max} entries`);
  value.forEach((item: unknown, i) => {
    if (value.indexOf(item) < i) report(`${field}[${i}]`, 'listed twice');
    else entry(item, `${field}[${i}]`, report);
  });
};

const roleNames: FieldRule = (value, field, report) => {
  const problem = roleListProblem(value, field);
  if (problem) report(problem.field, problem.message);
};

const boolean: FieldRule = (value, field, report) => {
  if (typeof value !== 'boolean') report(field, 'must be true or false');
};

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clientIdProblem(value: string): string | undefined {
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_CLIENT_ID_LENGTH) return `must be at most ${MAX_CLIENT_ID_LENGTH} characters`;
  if (!CLIENT_ID_CHARACTERS.test(value)) return 'printable ASCII characters only, no spaces (RFC 6749 Appendix A.1)';
  return undefined;
}

function secretProblem(value: string): string | undefined {
  if (value.length === 0 || value.length > MAX_SECRET_LENGTH) return `must be 1 to ${MAX_SECRET_LENGTH} characters`;
  if (!SECRET_CHARACTERS.test(value)) return 'printable ASCII characters only (RFC 6749 Appendix A.2)';
  return undefined;
}

function scopeProblem(value: string): string | undefined {
  if (value.length > MAX_SCOPE_LENGTH) return `must be at most ${MAX_SCOPE_LENGTH} characters`;
  const names = value.split(' ').filter(Boolean);
  if (!names.length || !names.every((name) => SCOPE_TOKEN.test(name))) {
    return 'space-separated scope names of printable characters (no quotes or backslashes)';
  }
  if (new Set(names).size !== names.length) return 'names a scope twice';
  return undefined;
}

/** Linked from the pages and RFC 7591 metadata, which oidc-provider requires to be absolute web URLs. */
function linkProblem(value: string): string | undefined {
  return brandingUrlProblem(value) ?? (httpsUrlProblem(value) ? 'must be an https: URL' : undefined);
}

const MAX_WEB_ORIGINS = 100;

/**
 * A web origin (Keycloak's `webOrigins`): `scheme://host[:port]` exactly as
 * a browser sends it in `Origin` (no path, no trailing slash, lower case),
 * or `+`, the origins of the client's redirect URIs. No `*`: a wildcard
 * would let any site read the client's token responses.
 */
export function webOriginProblem(value: string): string | undefined {
  if (value === '+') return undefined;
  if (value.includes('*')) return 'no wildcards (a browser never sends one, and * would let any site read this client\'s tokens): list the origins';
  const parsed = URL.parse(value);
  if (!parsed || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') || parsed.origin !== value) {
    return 'must be an origin such as https://app.example.com (scheme, host and port only), or +';
  }
  return undefined;
}

function emailProblem(value: string): string | undefined {
  return value.length <= 320 && EMAIL.test(value) ? undefined : 'must be an email address';
}

const lifetimes: FieldRule = (value, field, report) => {
  if (!isPlainObject(value)) return report(field, 'must be an object');
  for (const [kind, seconds] of Object.entries(value)) {
    const at = `${field}.${kind}`;
    if (REALM_LIFETIMES.has(kind)) {
      report(at, 'a realm-wide lifetime: set it in the realm\'s ttl');
    } else if (!Object.hasOwn(CLIENT_LIFETIMES, kind)) {
      report(at, 'unknown property (check the spelling)');
    } else {
      const max = CLIENT_LIFETIMES[kind]!;
      if (!Number.isInteger(seconds) || (seconds as number) < 1 || (seconds as number) > max) report(at, `must be a whole number of seconds from 1 to ${max}`);
    }
  }
};

/** Public keys only: a private member here would publish the client's private key in the database. */
const keySet: FieldRule = (value, field, report) => {
  if (!isPlainObject(value) || !Array.isArray(value['keys'])) return report(field, 'must be an object with a keys list');
  const keys = value['keys'] as unknown[];
  if (keys.length === 0 || keys.length > MAX_KEYS) return report(`${field}.keys`, `must hold 1 to ${MAX_KEYS} keys`);
  keys.forEach((key, i) => {
    const at = `${field}.keys[${i}]`;
    if (!isPlainObject(key)) return report(at, 'must be an object (a JWK)');
    if (typeof key['kty'] !== 'string' || !key['kty']) return report(`${at}.kty`, 'is required');
    if (key['kty'] === 'oct') return report(`${at}.kty`, 'must not be a symmetric key');
    const member = PRIVATE_KEY_MEMBERS.find((name) => key[name] !== undefined);
    if (member) return report(`${at}.${member}`, 'private key material: publish the public key only');
    const required = Object.hasOwn(PUBLIC_KEY_MEMBERS, key['kty']) ? PUBLIC_KEY_MEMBERS[key['kty']]! : [];
    const missing = required.find((name) => typeof key[name] !== 'string' || !key[name]);
    if (missing) report(`${at}.${missing}`, `is required for ${key['kty']} keys`);
  });
};

/**
 * Every field Latchkey accepts: RFC 7591 names, plus its own `permissions`,
 * `roles` (the client's own, in its client-credentials tokens with the `roles` scope),
 * `default_resource` (the API its tokens are for when it names none, RFC 8707),
 * `refresh_token_requires_offline_access`, `ttl`, `background_uri`,
 * `primary_color` and `web_origins` (src/clients/client-metadata.ts). The order is the order
 * in which problems are reported. Redirect URIs get their full rules in
 * client-rules.ts, which knows the application type and the environment.
 */
export const FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  client_id: text(clientIdProblem),
  client_secret: text(secretProblem),
  client_name: text(brandingNameProblem),
  application_type: oneOf(APPLICATION_TYPES),
  token_endpoint_auth_method: oneOf(AUTH_METHODS),
  grant_types: list(oneOf(GRANT_TYPES)),
  response_types: list(oneOf(RESPONSE_TYPES)),
  redirect_uris: list(text(), MAX_REDIRECT_URIS),
  post_logout_redirect_uris: list(text(), MAX_REDIRECT_URIS),
  web_origins: list(text(webOriginProblem), MAX_WEB_ORIGINS),
  scope: text(scopeProblem),
  permissions: list(oneOf(CLIENT_PERMISSIONS)),
  roles: roleNames,
  default_resource: text(resourceIdentifierProblem),
  introspection_signed_response_alg: oneOf(SIGNING_ALGORITHMS),
  refresh_token_requires_offline_access: boolean,
  ttl: lifetimes,
  jwks_uri: text(httpsUrlProblem),
  jwks: keySet,
  client_uri: text(httpsUrlProblem),
  logo_uri: text(linkProblem),
  policy_uri: text(linkProblem),
  tos_uri: text(linkProblem),
  background_uri: text(brandingUrlProblem),
  primary_color: text(colorProblem),
  contacts: list(text(emailProblem), MAX_CONTACTS),
};
