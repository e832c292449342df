import { Type, type Static, type TLiteral } from '@sinclair/typebox';

/**
 * A realm's dynamic client registration policy (RFC 7591, RFC 7592), the
 * `registration` setting of a realm in the setup file. Off unless the realm
 * says `enabled: true`; what a registered client may ask for is narrower
 * than what an administrator may declare, because anyone holding an initial
 * access token writes it:
 *
 * - grant types: the code flow by default; client_credentials only where
 *   listed; never `password` (RFC 9700 §2.4).
 * - auth methods: all of Latchkey's by default; a realm may refuse public
 *   clients by leaving `none` out.
 * - scopes: the OpenID ones by default; an API's scopes only where listed.
 *   A client that names none gets the listed ones.
 * - jwks_uri: refused unless allowed, because the server then fetches a URL
 *   the registrant chose (server-side request forgery); inline `jwks` works.
 * - management (RFC 7592 update and delete with the registration access
 *   token): on by default; reading a registration always works.
 *
 * Fields that grant privileges (permissions, roles, ttl, default_resource)
 * are an administrator's to set, never a registrant's (src/oidc/client-registration.ts).
 */
export const REGISTRABLE_GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
const REGISTRABLE_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'] as const;
const DEFAULT_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

const oneOf = <T extends readonly string[]>(values: T) => Type.Union(values.map((value) => Type.Literal(value)) as TLiteral<T[number]>[]);

export const RegistrationSchema = Type.Object({
  enabled: Type.Boolean(),
  /** RFC 7592 update and delete with the registration access token (default true). */
  management: Type.Optional(Type.Boolean()),
  grant_types: Type.Optional(Type.Array(oneOf(REGISTRABLE_GRANT_TYPES), { minItems: 1, uniqueItems: true })),
  token_endpoint_auth_methods: Type.Optional(Type.Array(oneOf(REGISTRABLE_AUTH_METHODS), { minItems: 1, uniqueItems: true })),
  /** RFC 6749 §3.3 scope tokens a registered client may hold. */
  scopes: Type.Optional(Type.Array(Type.String({ pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]{1,200}$' }), { minItems: 1, maxItems: 200, uniqueItems: true })),
  allow_jwks_uri: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

export type RegistrationDeclaration = Static<typeof RegistrationSchema>;

/** A realm's policy with its defaults filled in; only realms with registration enabled have one. */
export interface RegistrationPolicy {
  management: boolean;
  grantTypes: readonly string[];
  authMethods: readonly string[];
  scopes: readonly string[];
  allowJwksUri: boolean;
}

export function registrationPolicyOf(declared: RegistrationDeclaration | undefined): RegistrationPolicy | undefined {
  if (!declared?.enabled) return undefined;
  return {
    management: declared.management ?? true,
    grantTypes: declared.grant_types ?? ['authorization_code', 'refresh_token'],
    authMethods: declared.token_endpoint_auth_methods ?? [...REGISTRABLE_AUTH_METHODS],
    scopes: declared.scopes ?? DEFAULT_SCOPES,
    allowJwksUri: declared.allow_jwks_uri ?? false,
  };
}
