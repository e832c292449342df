import { Type } from '@sinclair/typebox';
import { ClientNotFoundError } from '../errors/index.ts';
import { TOKEN_KINDS, type Whose } from '../tokens/issued-administration.ts';
import { adminRoute, requireRealm, type AdminServices } from './admin-route.ts';
import { DateTime, Page, RealmName, RealmParams } from './admin-schemas.ts';
import { PageQuery, readPage } from './pagination.ts';

/**
 * What was issued in a realm (src/tokens/issued-administration.ts): live
 * tokens, consents and sessions, listed as metadata (never a value, digest
 * or cookie: each has an opaque id made for this API), revoked one at a
 * time or all of a client's or user's at once, with the count revoked
 * (Kong's /oauth2_tokens use case, Keycloak's sessions and consents).
 * Lists are in no meaningful order, stable across pages.
 */
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Handle = Type.String({ minLength: 1, maxLength: 512, description: 'an id this API handed out in a list' });
const Username = Type.String({ minLength: 1, maxLength: 256 });
const ClientId = Type.String({ minLength: 1, maxLength: 256 });

const TokenSchema = Type.Object({
  id: Type.String({ description: 'names the token in this API only: it is not the token, and the token cannot be derived from it' }),
  kind: Type.Union(TOKEN_KINDS.map((kind) => Type.Literal(kind))),
  format: Nullable(Type.Union([Type.Literal('opaque'), Type.Literal('jwt')])),
  client_id: Type.String(),
  user_id: Nullable(Type.String()),
  username: Nullable(Type.String()),
  scopes: Type.Array(Type.String()),
  resource: Nullable(Type.String({ description: 'the resource server (audience) an access token is for' })),
  consent_id: Nullable(Type.String({ description: 'the consent the token was issued under' })),
  issued_at: Nullable(DateTime),
  expires_at: Nullable(DateTime),
});

const ConsentSchema = Type.Object({
  id: Type.String(),
  client_id: Type.String(),
  user_id: Nullable(Type.String()),
  username: Nullable(Type.String()),
  scopes: Type.Array(Type.String({ description: 'OpenID Connect scopes allowed' })),
  resources: Type.Record(Type.String(), Type.Array(Type.String()), { description: 'scopes allowed per resource server' }),
  claims: Type.Array(Type.String()),
  issued_at: Nullable(DateTime),
  expires_at: Nullable(DateTime),
});

const SessionSchema = Type.Object({
  id: Type.String(),
  user_id: Nullable(Type.String()),
  username: Nullable(Type.String()),
  clients: Type.Array(Type.String(), { description: 'clients the user signed in to in this session' }),
  signed_in_at: Nullable(DateTime),
  acr: Nullable(Type.String()),
  amr: Type.Array(Type.String()),
  issued_at: Nullable(DateTime),
  expires_at: Nullable(DateTime),
});

const TokenQuery = Type.Object({
  ...PageQuery.properties,
  client_id: Type.Optional(ClientId),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'a username' })),
  kind: Type.Optional(Type.Union(TOKEN_KINDS.map((kind) => Type.Literal(kind)))),
});
const ConsentQuery = Type.Object({
  ...PageQuery.properties,
  client_id: Type.Optional(ClientId),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'a username' })),
});
const SessionQuery = Type.Object({
  ...PageQuery.properties,
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'a username' })),
});

const Count = (name: string, description: string) => Type.Object({ [name]: Type.Integer({ minimum: 0, description }) });

const TokenParams = Type.Object({ realm: RealmName, tokenId: Handle });
const ConsentParams = Type.Object({ realm: RealmName, consentId: Handle });
const SessionParams = Type.Object({ realm: RealmName, sessionId: Handle });
const ClientParams = Type.Object({ realm: RealmName, clientId: ClientId });
const UserParams = Type.Object({ realm: RealmName, username: Username });

/** @throws ClientNotFoundError: revoking for a client that does not exist is a mistake worth telling (a typo revokes nothing). */
async function existingClient(services: AdminServices, realm: string, clientId: string): Promise<Whose> {
  if (!(await services.clients.find(realm, clientId))) throw new ClientNotFoundError(realm, clientId);
  return { clientId };
}

const whoseOf = (query: { client_id?: string | undefined; user?: string | undefined }): Whose => ({ clientId: query.client_id, username: query.user });

export const issuedRoutes = [
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/tokens',
    scope: 'admin:read',
    operationId: 'listTokens',
    summary: "List live tokens, a client's or a user's (metadata only)",
    tag: 'tokens',
    schema: { params: RealmParams, querystring: TokenQuery, response: { 200: Page(TokenSchema) } },
    async handle({ params, query }, services) {
      const realm = requireRealm(services, params.realm);
      const page = await readPage(query, (range) => services.issued.listTokens(realm, { ...whoseOf(query), kind: query.kind }, range), (token) => token.id);
      return { status: 200, body: page };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/tokens/:tokenId',
    scope: 'admin:write',
    operationId: 'revokeToken',
    summary: 'Revoke a token; a refresh token or code with its whole consent (RFC 7009 §2.1)',
    tag: 'tokens',
    schema: { params: TokenParams, response: { 204: Type.Null() } },
    async handle({ params }, services) {
      await services.issued.revokeToken(requireRealm(services, params.realm), params.tokenId);
      return { status: 204, audit: { target: params.tokenId } };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/clients/:clientId/tokens',
    scope: 'admin:write',
    operationId: 'revokeClientTokens',
    summary: "Revoke every token issued to a client, and the consents they were issued under; answers how many live tokens were revoked",
    tag: 'tokens',
    schema: { params: ClientParams, response: { 200: Count('revoked', 'live tokens revoked') } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      const body = { revoked: await services.issued.revokeAllTokens(realm, await existingClient(services, realm, params.clientId)) };
      return { status: 200, body, audit: { target: params.clientId, after: body } };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/users/:username/tokens',
    scope: 'admin:write',
    operationId: 'revokeUserTokens',
    summary: "Revoke every token issued to a user, and the consents they were issued under (sessions stay); answers how many live tokens were revoked",
    tag: 'tokens',
    schema: { params: UserParams, response: { 200: Count('revoked', 'live tokens revoked') } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      const body = { revoked: await services.issued.revokeAllTokens(realm, { username: params.username }) };
      return { status: 200, body, audit: { target: params.username, after: body } };
    },
  }),
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/consents',
    scope: 'admin:read',
    operationId: 'listConsents',
    summary: "List live consents (what users allowed clients), a client's or a user's",
    tag: 'consents',
    schema: { params: RealmParams, querystring: ConsentQuery, response: { 200: Page(ConsentSchema) } },
    async handle({ params, query }, services) {
      const realm = requireRealm(services, params.realm);
      return { status: 200, body: await readPage(query, (range) => services.issued.listConsents(realm, whoseOf(query), range), (consent) => consent.id) };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/consents/:consentId',
    scope: 'admin:write',
    operationId: 'withdrawConsent',
    summary: 'Withdraw a consent and revoke every token issued under it',
    tag: 'consents',
    schema: { params: ConsentParams, response: { 204: Type.Null() } },
    async handle({ params }, services) {
      await services.issued.withdrawConsent(requireRealm(services, params.realm), params.consentId);
      return { status: 204, audit: { target: params.consentId } };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/users/:username/consents',
    scope: 'admin:write',
    operationId: 'withdrawUserConsents',
    summary: "Withdraw every consent of a user (and revoke their tokens); answers how many",
    tag: 'consents',
    schema: { params: UserParams, response: { 200: Count('withdrawn', 'consents withdrawn') } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      const body = { withdrawn: await services.issued.withdrawAllConsents(realm, { username: params.username }) };
      return { status: 200, body, audit: { target: params.username, after: body } };
    },
  }),
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/sessions',
    scope: 'admin:read',
    operationId: 'listSessions',
    summary: "List live sign-in sessions, or a user's",
    tag: 'sessions',
    schema: { params: RealmParams, querystring: SessionQuery, response: { 200: Page(SessionSchema) } },
    async handle({ params, query }, services) {
      const realm = requireRealm(services, params.realm);
      return { status: 200, body: await readPage(query, (range) => services.issued.listSessions(realm, { username: query.user }, range), (session) => session.id) };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/sessions/:sessionId',
    scope: 'admin:write',
    operationId: 'endSession',
    summary: 'End a session, and the consents it holds that do not outlive it (all but offline access)',
    tag: 'sessions',
    schema: { params: SessionParams, response: { 204: Type.Null() } },
    async handle({ params }, services) {
      await services.issued.endSession(requireRealm(services, params.realm), params.sessionId);
      return { status: 204, audit: { target: params.sessionId } };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/users/:username/sessions',
    scope: 'admin:write',
    operationId: 'endUserSessions',
    summary: "End every session of a user; answers how many",
    tag: 'sessions',
    schema: { params: UserParams, response: { 200: Count('ended', 'sessions ended') } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      const body = { ended: await services.issued.endAllSessions(realm, { username: params.username }) };
      return { status: 200, body, audit: { target: params.username, after: body } };
    },
  }),
];
