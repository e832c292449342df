import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { errors, type Configuration } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import { CLAIMS_BY_SCOPE } from '../src/accounts/account-claims.ts';
import { EXTRA_CLIENT_METADATA } from '../src/clients/client-metadata.ts';
import { DEFAULT_LIFETIMES } from '../src/oidc/token-lifetimes.ts';
import { freePort } from '../test/helpers/latchkey-under-test.ts';
import { demoSetup, SECRETS } from '../test/helpers/setups.ts';
import { installBaselineInteractions } from './baseline-interactions.ts';
import { installBaselinePasswordGrant } from './baseline-password-grant.ts';
import { JWT_RESOURCES, PWD, RSJWT } from './oauth-client.ts';
import { serveUntilTold } from './server-control.ts';

/**
 * The baseline: "the engine alone, in memory". The same oidc-provider
 * configuration as src/oidc/provider-factory.ts builds for Latchkey (clients,
 * features, PKCE, rotation, lifetimes, scope rules, introspection policy), on
 * oidc-provider's in-memory adapter with static clients holding plain
 * secrets, served by `provider.listen` (no Fastify, no PostgreSQL). A child
 * process of bench/run.ts; prints {"event":"ready","port":N}.
 *
 * Storage is oidc-provider's own MemoryAdapter, but on a store of 200,000
 * entries instead of its default 1,000: at thousands of tokens a second the
 * default LRU forgets tokens, grants and refresh tokens within a fraction of
 * a second, which shows up as inactive tokens and invalid_grant errors.
 *
 * The same resource servers as Latchkey's bench setup: client_credentials
 * with `resource=urn:bench:es256|rs256` issues a JWT access token, and client
 * `rsjwt` gets RFC 9701 JWT introspection responses. The engine has no
 * password grant: bench/baseline-password-grant.ts is the least one.
 */

const ALICE = {
  accountId: 'alice',
  claims: { email: 'alice@example.test', email_verified: true, name: 'Alice Example', given_name: 'Alice', family_name: 'Example', preferred_username: 'alice' },
};
const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'];
const ALGS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

function signingKeys() {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  return [
    { ...rsa, kid: 'bench-rs256', alg: 'RS256', use: 'sig' },
    { ...ec, kid: 'bench-es256', alg: 'ES256', use: 'sig' },
  ];
}

function clients(): NonNullable<Configuration['clients']> {
  const declared = (demoSetup() as unknown as { realms: { clients: Record<string, unknown>[] }[] }).realms[0]!.clients;
  return [
    ...declared.map((c) => ({ ...c })),
    {
      client_id: RSJWT[0],
      client_secret: RSJWT[1],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      permissions: ['introspection'],
      introspection_signed_response_alg: 'ES256',
    },
    {
      client_id: PWD[0],
      client_secret: PWD[1],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['password'],
      response_types: [],
      redirect_uris: [],
      scope: 'openid api:read',
    },
  ] as unknown as NonNullable<Configuration['clients']>;
}

function hasPermission(client: { metadata(): Record<string, unknown> }, permission: string): boolean {
  const granted = client.metadata()['permissions'];
  return Array.isArray(granted) && granted.includes(permission);
}

const lifetime = (kind: keyof typeof DEFAULT_LIFETIMES) => () => DEFAULT_LIFETIMES[kind];

const store = new LRU({ maxSize: 200_000 });

const configuration: Configuration = {
  adapter: (model: string) => new MemoryAdapter(model, store),
  clients: clients(),
  jwks: { keys: signingKeys() as NonNullable<Configuration['jwks']>['keys'] },
  cookies: {
    keys: [randomBytes(32).toString('base64url')],
    long: { signed: true, httpOnly: true, sameSite: 'lax' },
    short: { signed: true, httpOnly: true, sameSite: 'lax' },
  },
  claims: { ...CLAIMS_BY_SCOPE, openid: ['sub'] } as unknown as Configuration['claims'],
  scopes: [...OIDC_SCOPES, 'api:read', 'api:write'],
  extraTokenClaims: async (ctx, token) => {
    if (token.kind === 'ClientCredentials' && token.scope) {
      const allowed = new Set((ctx.oidc.client?.scope ?? '').split(' '));
      const refused = token.scope.split(' ').find((s) => !allowed.has(s));
      if (refused) throw new errors.InvalidScope('requested scope is not allowed', refused);
    }
    return undefined;
  },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, ...ALICE.claims }) }),
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId || hasPermission(client, 'introspection'),
    },
    jwtIntrospection: { enabled: true },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // Opaque tokens unless a JWT resource is asked for (Latchkey has no resources yet).
      getResourceServerInfo: async (_ctx, indicator) => {
        const alg = JWT_RESOURCES[indicator as keyof typeof JWT_RESOURCES];
        if (!alg) throw new errors.InvalidTarget();
        return { scope: 'api:read api:write', audience: indicator, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
      },
    },
  },
  responseTypes: ['code'],
  pkce: { required: () => true },
  allowOmittingSingleRegisteredRedirectUri: false,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
  enabledJWA: {
    idTokenSigningAlgValues: ALGS,
    userinfoSigningAlgValues: ALGS,
    clientAuthSigningAlgValues: ALGS,
    introspectionSigningAlgValues: ALGS,
  } as Configuration['enabledJWA'],
  clientDefaults: {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  },
  extraClientMetadata: { properties: [...EXTRA_CLIENT_METADATA] },
  rotateRefreshToken: true,
  issueRefreshToken: async (_ctx, client, code) =>
    client.grantTypeAllowed('refresh_token')
    && (!client.metadata()['refresh_token_requires_offline_access'] || code.scopes.has('offline_access')),
  ttl: {
    AccessToken: lifetime('access_token'),
    ClientCredentials: lifetime('client_credentials'),
    RefreshToken: lifetime('refresh_token'),
    IdToken: lifetime('id_token'),
    AuthorizationCode: lifetime('authorization_code'),
    Session: lifetime('session'),
    Grant: lifetime('grant'),
    Interaction: lifetime('interaction'),
  } as Configuration['ttl'],
};

const port = await freePort();
const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
await installBaselineInteractions(provider, { login: 'alice', password: SECRETS.alice, accountId: ALICE.accountId });
await installBaselinePasswordGrant(provider, { password: SECRETS.alice, claims: ALICE.claims });
const server = provider.listen(port, '127.0.0.1');
await new Promise<void>((resolve, reject) => { server.once('listening', resolve); server.once('error', reject); });

serveUntilTold(port, () => new Promise<void>((resolve) => {
  server.close(() => resolve());
  server.closeAllConnections();
}));
