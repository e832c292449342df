import { Type, type Static } from '@sinclair/typebox';
import { MAX_CODE_LIFETIME_SECONDS, MAX_LIFETIME_SECONDS } from './client-rules.ts';
import { PATH_PREFIX } from '../oidc/realm-layouts.ts';
import { RegistrationSchema } from './registration-policy.ts';

/**
 * The one schema of the declarative setup file (YAML or JSON). Unknown
 * properties are refused, so a typo is an error that names it rather than a
 * silently ignored setting. Each client is judged by the client rules
 * (client-rules.ts), the ones the CLI and the client service apply, so the
 * schema only asks that it be an object.
 */

const Lifetime = Type.Integer({ minimum: 1, maximum: MAX_LIFETIME_SECONDS });

export const LifetimesSchema = Type.Object({
  access_token: Type.Optional(Lifetime),
  client_credentials: Type.Optional(Lifetime),
  refresh_token: Type.Optional(Lifetime),
  id_token: Type.Optional(Lifetime),
  authorization_code: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_CODE_LIFETIME_SECONDS })),
  session: Type.Optional(Lifetime),
  grant: Type.Optional(Lifetime),
  interaction: Type.Optional(Type.Integer({ minimum: 30, maximum: 24 * 3600 })),
}, { additionalProperties: false });

const Text = (maxLength = 256) => Type.String({ minLength: 1, maxLength });
const Uri = Type.String({ minLength: 1, maxLength: 2000 });
const Secret = Type.String({ minLength: 1, maxLength: 1024 });
const ClientEntry = Type.Record(Type.String(), Type.Unknown());

const ProfileClaim = Type.Optional(Text(1000));

export const UserSchema = Type.Object({
  username: Text(),
  /** Without password or password_hash a new user cannot sign in until one is set (`latchkey users passwd`). */
  password: Type.Optional(Secret),
  /** A hash made elsewhere, kept until the first sign-in (kept-password-hashes.ts); not with `password`. */
  password_hash: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  email: Type.Optional(Type.String({ maxLength: 320, pattern: '^[^\\s@]+@[^\\s@]+$' })),
  email_verified: Type.Optional(Type.Boolean()),
  disabled: Type.Optional(Type.Boolean()),
  /** Judged by the role rules (role-rules.ts), like a client's roles. */
  roles: Type.Optional(Type.Array(Type.Unknown())),
  groups: Type.Optional(Type.Array(Type.Unknown())),
  name: ProfileClaim,
  given_name: ProfileClaim,
  family_name: ProfileClaim,
  middle_name: ProfileClaim,
  nickname: ProfileClaim,
  preferred_username: ProfileClaim,
  profile: ProfileClaim,
  picture: ProfileClaim,
  website: ProfileClaim,
  gender: ProfileClaim,
  birthdate: ProfileClaim,
  zoneinfo: ProfileClaim,
  locale: ProfileClaim,
  phone_number: ProfileClaim,
  phone_number_verified: Type.Optional(Type.Boolean()),
  claims: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
}, { additionalProperties: false });

/** A realm's default look of the sign-in pages; clients override it with their own metadata. */
export const RealmBrandingSchema = Type.Object({
  app_name: Type.Optional(Text(100)),
  logo_uri: Type.Optional(Uri),
  background_uri: Type.Optional(Uri),
  primary_color: Type.Optional(Type.String({ pattern: '^#[0-9a-fA-F]{6}$' })),
  policy_uri: Type.Optional(Uri),
  tos_uri: Type.Optional(Uri),
}, { additionalProperties: false });

/**
 * Where a realm's endpoints live and what its tokens look like
 * (src/oidc/realm-layouts.ts): Latchkey's own, Keycloak's (IFS Cloud) or an
 * Okta custom authorization server's. A bare name takes the defaults.
 */
const PathPrefix = Type.String({ pattern: PATH_PREFIX.source, maxLength: 100 });
export const LayoutSchema = Type.Union([
  Type.Literal('standard'),
  Type.Literal('keycloak'),
  Type.Literal('okta'),
  Type.Object({ type: Type.Literal('standard') }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('keycloak'),
    /** `/auth` for IFS Cloud and Keycloak 16 or older: `<base>/auth/realms/<name>`. */
    path_prefix: Type.Optional(PathPrefix),
    /** `aud` of access tokens that name no resource server; Keycloak's is `account`. */
    audience: Type.Optional(Text(200)),
  }, { additionalProperties: false }),
  Type.Object({
    type: Type.Literal('okta'),
    /** The id in `<base>/oauth2/<id>`; Okta's usual one is `default`. The realm's name when absent. */
    authorization_server: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$' })),
    /** `aud` of access tokens that name no resource server; `api://<authorization_server>` when absent. */
    audience: Type.Optional(Text(200)),
  }, { additionalProperties: false }),
]);

export const RealmSchema = Type.Object({
  name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }),
  layout: Type.Optional(LayoutSchema),
  /**
   * More layouts for the same clients and users, each its own issuer
   * (src/oidc/realm-list.ts): a team that needs Keycloak's paths for one
   * application and Okta's for another.
   */
  aliases: Type.Optional(Type.Array(LayoutSchema, { maxItems: 4 })),
  ttl: Type.Optional(LifetimesSchema),
  branding: Type.Optional(RealmBrandingSchema),
  allow_password_grant_for_public_clients: Type.Optional(Type.Boolean()),
  /** Dynamic client registration (RFC 7591/7592), off unless enabled (registration-policy.ts). */
  registration: Type.Optional(RegistrationSchema),
  clients: Type.Optional(Type.Array(ClientEntry, { maxItems: 10_000 })),
  /** Judged by the resource-server rules (resource-server-rules.ts), like clients. */
  resource_servers: Type.Optional(Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 1000 })),
  users: Type.Optional(Type.Array(UserSchema, { maxItems: 100_000 })),
}, { additionalProperties: false });

export const SetupFileSchema = Type.Object({
  /** Marks demo files: refused when NODE_ENV=production. */
  development_only: Type.Optional(Type.Boolean()),
  realms: Type.Array(RealmSchema, { maxItems: 1000 }),
}, { additionalProperties: false });

export type UserDeclaration = Static<typeof UserSchema>;
export type RealmFileEntry = Static<typeof RealmSchema>;
export type RealmBrandingDeclaration = Static<typeof RealmBrandingSchema>;
export type LayoutFileEntry = Static<typeof LayoutSchema>;
