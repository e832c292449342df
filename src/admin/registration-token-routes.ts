import { Type } from '@sinclair/typebox';
import { DEFAULT_EXPIRES_IN, MAX_EXPIRES_IN, MAX_USES } from '../registration/initial-access-tokens.ts';
import { adminRoute, requireRealm } from './admin-route.ts';
import { DateTime, Page, RealmName, RealmParams } from './admin-schemas.ts';
import { PageQuery, readPage } from './pagination.ts';

/**
 * Initial access tokens for dynamic client registration (RFC 7591 §3),
 * through the service the CLI uses (src/registration/initial-access-tokens.ts),
 * which holds their rules: these schemas give the shape, the service says
 * what a value may be. A token's value is in the answer that issued it,
 * once; lists show metadata only (never the value or its digest).
 */
const TokenSchema = Type.Object({
  id: Type.String({ description: 'a handle for revoking it; not the token' }),
  uses_allowed: Type.Integer(),
  uses_left: Type.Integer({ description: 'registrations it can still make' }),
  description: Type.Union([Type.String(), Type.Null()]),
  expires_at: DateTime,
  created_at: DateTime,
});

const IssuedTokenSchema = Type.Object({
  ...TokenSchema.properties,
  token: Type.String({ description: 'the bearer token for the realm\'s registration endpoint: shown in this answer only, never again' }),
});

const IssueSchema = Type.Object({
  expires_in: Type.Optional(Type.Integer({ description: `seconds until it expires (default ${DEFAULT_EXPIRES_IN}, at most ${MAX_EXPIRES_IN})` })),
  uses: Type.Optional(Type.Integer({ description: `registrations it allows (default 1, at most ${MAX_USES})` })),
  description: Type.Optional(Type.String({ description: 'who or what it is for' })),
}, { additionalProperties: false });

const TokenParams = Type.Object({ realm: RealmName, tokenId: Type.String({ minLength: 1, maxLength: 64 }) });

const TAG = 'registration';

export const registrationTokenRoutes = [
  adminRoute({
    method: 'POST',
    url: '/v1/realms/:realm/initial-access-tokens',
    scope: 'admin:write',
    operationId: 'issueInitialAccessToken',
    summary: 'Issue an initial access token for dynamic client registration (single-use unless told); its value is shown in this answer only',
    description: 'The realm must enable registration in the setup file (409 otherwise).',
    tag: TAG,
    schema: { params: RealmParams, body: IssueSchema, response: { 201: IssuedTokenSchema } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      const { value, token } = await services.initialAccessTokens.issue(realm, body);
      return {
        status: 201,
        headers: { location: `/v1/realms/${realm}/initial-access-tokens/${encodeURIComponent(token.id)}` },
        body: { ...token, token: value },
      };
    },
  }),
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/initial-access-tokens',
    scope: 'admin:read',
    operationId: 'listInitialAccessTokens',
    summary: "List a realm's initial access tokens (metadata only), in id order",
    tag: TAG,
    schema: { params: RealmParams, querystring: PageQuery, response: { 200: Page(TokenSchema) } },
    async handle({ params, query }, services) {
      const realm = requireRealm(services, params.realm);
      const page = await readPage(query, (range) => services.initialAccessTokens.page(realm, range), (token) => token.id);
      return { status: 200, body: page };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/initial-access-tokens/:tokenId',
    scope: 'admin:write',
    operationId: 'revokeInitialAccessToken',
    summary: 'Revoke an initial access token: it registers no more clients (those it registered stay)',
    tag: TAG,
    schema: { params: TokenParams, response: { 204: Type.Null() } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      await services.initialAccessTokens.revoke(realm, params.tokenId);
      return { status: 204 };
    },
  }),
];
