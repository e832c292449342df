import { Type } from '@sinclair/typebox';
import { adminRoute, requireRealm } from './admin-route.ts';
import { RealmParams } from './admin-schemas.ts';

/**
 * What a served realm is doing, as the server runs it
 * (src/realms/realm-configuration.ts). The schema is the allow-list of what
 * the answer may hold: no member exists for a secret, a hash, key material
 * or a connection string, so the serializer could not write one.
 */
const Seconds = Type.Integer({ minimum: 0 });

const ResourceServerSchema = Type.Object({
  identifier: Type.String(),
  scopes: Type.Array(Type.String()),
  access_token: Type.Object({
    format: Type.String({ description: 'opaque or jwt' }),
    lifetime: Type.Optional(Seconds),
    algorithm: Type.String(),
  }),
});

const RealmConfigurationSchema = Type.Object({
  realm: Type.String(),
  issuers: Type.Array(Type.Object({
    issuer: Type.String(),
    layout: Type.String({ description: 'standard, keycloak or okta' }),
    mount_path: Type.String(),
    alias: Type.Boolean({ description: 'false for the realm\'s own layout, true for its aliases (more issuers over the same clients and users)' }),
    discovery: Type.String(),
    default_audience: Type.Optional(Type.String({ description: '`aud` of access tokens that name no resource server' })),
    endpoints: Type.Record(Type.String(), Type.String(), { description: 'endpoint name → URL' }),
  })),
  token_lifetimes: Type.Object({
    access_token: Seconds,
    client_credentials: Seconds,
    refresh_token: Seconds,
    id_token: Seconds,
    authorization_code: Seconds,
    session: Seconds,
    grant: Seconds,
    interaction: Seconds,
  }, { description: 'the realm\'s lifetimes in seconds (clients and resource servers may override them)' }),
  password_grant_for_public_clients: Type.Boolean(),
  branding: Type.Union([Type.Object({
    app_name: Type.Optional(Type.String()),
    logo_uri: Type.Optional(Type.String()),
    background_uri: Type.Optional(Type.String()),
    primary_color: Type.Optional(Type.String()),
    policy_uri: Type.Optional(Type.String()),
    tos_uri: Type.Optional(Type.String()),
  }), Type.Null()]),
  features: Type.Array(Type.String(), { description: 'the protocol engine\'s features that are on' }),
  scopes: Type.Array(Type.String(), { description: 'the scopes the realm knows now (its clients\' and resource servers\' included)' }),
  resource_servers: Type.Array(ResourceServerSchema),
  counts: Type.Object({ clients: Type.Integer(), users: Type.Integer() }),
  signing: Type.Object({
    algorithms: Type.Array(Type.String(), { description: 'the algorithms with an active signing key' }),
    id_token_alg: Type.String(),
    jwks_max_age_seconds: Seconds,
    key_check_seconds: Seconds,
    activation_delay_seconds: Seconds,
  }, { description: 'how the keys are used and rotated (the keys themselves: GET /v1/keys)' }),
  server: Type.Object({
    setup_file: Type.String(),
    database: Type.String({ description: 'embedded or postgresql (never the connection string)' }),
    cookie_keys: Type.String({ description: 'configured (LATCHKEY_COOKIE_KEYS) or generated; never the keys' }),
    trust_proxy: Type.Boolean(),
  }),
});

export const realmConfigurationRoutes = [
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/configuration',
    scope: 'admin:read',
    operationId: 'getRealmConfiguration',
    summary: 'The effective configuration of a realm, secrets left out',
    description: 'As the server runs it (the setup file may have changed since the start): issuers and endpoints per layout and alias, token lifetimes, engine features, scopes, branding, resource servers, client and user counts, key use and rotation timing.',
    tag: 'realms',
    schema: { params: RealmParams, response: { 200: RealmConfigurationSchema } },
    async handle({ params }, services) {
      return { status: 200, body: await services.realmConfigurations.describe(requireRealm(services, params.realm)) };
    },
  }),
];
