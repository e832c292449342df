import { Type, type TLiteral, type TUnion } from '@sinclair/typebox';
import { clientView } from '../clients/client-view.ts';
import { APPLICATION_TYPES, AUTH_METHODS, CLIENT_PERMISSIONS, GRANT_TYPES } from '../config/index.ts';
import { ClientNotFoundError, InvalidRequestError } from '../errors/index.ts';
import { SIGNING_ALGORITHMS } from '../keys/algorithms.ts';
import { adminRoute, requireRealm } from './admin-route.ts';
import { DateTime, Page, RealmName, RealmParams } from './admin-schemas.ts';
import { PageQuery, readPage } from './pagination.ts';

/**
 * Clients of a realm, through the client service the CLI and the setup file
 * use: every definition is judged by the one client rulebook
 * (src/config/client-rules.ts), and a refusal lists each field with the
 * words the CLI and the file use. A generated secret is in the answer to
 * the request that created it, once; it is stored as a digest only.
 *
 * These schemas describe the shape (for the OpenAPI document and the
 * serializer); what a value may be is the rulebook's to say, so unknown
 * properties pass the schema and are refused by the rules, naming them.
 */
function oneOf<T extends readonly string[]>(values: T): TUnion<TLiteral<T[number]>[]> {
  return Type.Union(values.map((value) => Type.Literal(value)) as TLiteral<T[number]>[]);
}

const Strings = Type.Array(Type.String());
const Text = Type.String();

/** RFC 7591 client metadata and Latchkey's own (src/clients/client-metadata.ts), as stored. */
const clientMetadata = {
  client_name: Type.Optional(Text),
  application_type: Type.Optional(oneOf(APPLICATION_TYPES)),
  token_endpoint_auth_method: Type.Optional(oneOf(AUTH_METHODS)),
  grant_types: Type.Optional(Type.Array(oneOf(GRANT_TYPES))),
  response_types: Type.Optional(Type.Array(Type.Literal('code'))),
  redirect_uris: Type.Optional(Strings),
  post_logout_redirect_uris: Type.Optional(Strings),
  web_origins: Type.Optional(Type.Array(Type.String(), { description: 'origins whose pages may read this client\'s answers (CORS); + for the redirect URIs\' origins' })),
  scope: Type.Optional(Type.String({ description: 'space-separated scopes the client may obtain' })),
  permissions: Type.Optional(Type.Array(oneOf(CLIENT_PERMISSIONS))),
  roles: Type.Optional(Strings),
  default_resource: Type.Optional(Text),
  introspection_signed_response_alg: Type.Optional(oneOf(SIGNING_ALGORITHMS)),
  refresh_token_requires_offline_access: Type.Optional(Type.Boolean()),
  ttl: Type.Optional(Type.Record(Type.String(), Type.Integer(), { description: 'per-client token lifetimes in seconds' })),
  jwks_uri: Type.Optional(Text),
  jwks: Type.Optional(Type.Object({ keys: Type.Array(Type.Record(Type.String(), Type.Unknown())) })),
  client_uri: Type.Optional(Text),
  logo_uri: Type.Optional(Text),
  policy_uri: Type.Optional(Text),
  tos_uri: Type.Optional(Text),
  background_uri: Type.Optional(Text),
  primary_color: Type.Optional(Text),
  contacts: Type.Optional(Strings),
};

/** The metadata fields a response may carry: the serializer writes these and no others. */
export const CLIENT_METADATA_FIELDS = Object.keys(clientMetadata);

const ClientId = Type.String({ minLength: 1, maxLength: 256 });

export const ClientSchema = Type.Object({
  client_id: ClientId,
  ...clientMetadata,
  disabled: Type.Boolean({ description: 'a disabled client is unknown to the protocol endpoints; disabling it revoked everything issued to it' }),
  previous_secret_expires_at: Type.Union([DateTime, Type.Null()], { description: 'until when the secret before the last rotation is still accepted' }),
  secret_storage: Type.Union([Type.Literal('hmac-sha256'), Type.Literal('argon2id'), Type.Null()], {
    description: 'how the secret is stored (never the secret or its hash): hmac-sha256 when generated, argon2id when chosen',
  }),
  created_at: DateTime,
  updated_at: DateTime,
});

const CreatedClientSchema = Type.Object({
  ...ClientSchema.properties,
  client_secret: Type.Optional(Type.String({ description: 'the generated secret: shown in this answer only, never again' })),
});

const ClientParams = Type.Object({ realm: RealmName, clientId: ClientId });

const ClientDefinitionSchema = Type.Object({ client_id: ClientId, ...clientMetadata }, {
  description: 'RFC 7591 metadata; token_endpoint_auth_method, when absent, is none for native apps, private_key_jwt with jwks_uri or jwks, else client_secret_basic with a generated secret',
});
const ClientUpdateSchema = Type.Object({ ...clientMetadata }, {
  description: 'the complete metadata (it replaces what the client had); token_endpoint_auth_method, when absent, stays; the secret stays',
});

const ClientStateSchema = Type.Object({
  disabled: Type.Boolean({ description: 'true disables the client and revokes everything issued to it; false enables it' }),
}, { additionalProperties: false });

/** A day: long enough for a deployment to roll out the new secret, short enough that a leaked old one dies soon. */
const DEFAULT_SECRET_OVERLAP_SECONDS = 86_400;
const SecretRotationSchema = Type.Object({
  overlap_seconds: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 30 * 86_400,
    description: `how long the old secret is still accepted (default ${DEFAULT_SECRET_OVERLAP_SECONDS}); 0 ends it at once`,
  })),
}, { additionalProperties: false });

const TAG = 'clients';

export const clientRoutes = [
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/clients',
    scope: 'admin:read',
    operationId: 'listClients',
    summary: "List a realm's clients, in client_id order",
    tag: TAG,
    schema: { params: RealmParams, querystring: PageQuery, response: { 200: Page(ClientSchema) } },
    async handle({ params, query }, services) {
      const realm = requireRealm(services, params.realm);
      const page = await readPage(query, (range) => services.clients.page(realm, range), (client) => client.client_id);
      return { status: 200, body: { items: page.items.map(clientView), next_cursor: page.next_cursor } };
    },
  }),
  adminRoute({
    method: 'POST',
    url: '/v1/realms/:realm/clients',
    scope: 'admin:write',
    operationId: 'createClient',
    summary: 'Add a client; a confidential one gets a generated secret, shown in this answer only',
    tag: TAG,
    schema: { params: RealmParams, body: ClientDefinitionSchema, response: { 201: CreatedClientSchema } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      const { client, secret } = await services.clients.create(realm, body);
      return {
        status: 201,
        audit: { target: client.client_id, after: clientView(client) },
        headers: { location: `/v1/realms/${realm}/clients/${encodeURIComponent(client.client_id)}` },
        body: { ...clientView(client), ...(secret === undefined ? {} : { client_secret: secret }) },
      };
    },
  }),
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/clients/:clientId',
    scope: 'admin:read',
    operationId: 'getClient',
    summary: 'Read a client',
    tag: TAG,
    schema: { params: ClientParams, response: { 200: ClientSchema } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      const client = await services.clients.find(realm, params.clientId);
      if (!client) throw new ClientNotFoundError(realm, params.clientId);
      return { status: 200, body: clientView(client) };
    },
  }),
  adminRoute({
    method: 'PUT',
    url: '/v1/realms/:realm/clients/:clientId',
    scope: 'admin:write',
    operationId: 'updateClient',
    summary: "Replace a client's metadata (its secret and tokens stay)",
    description: 'A client declared in the setup file gets its declared metadata back at the next start.',
    tag: TAG,
    schema: { params: ClientParams, body: ClientUpdateSchema, response: { 200: ClientSchema } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      const { client_id: named, ...definition } = body as typeof body & { client_id?: unknown };
      if (named !== undefined && named !== params.clientId) {
        throw new InvalidRequestError('client_id: a client keeps its id', [{ field: 'client_id', message: 'a client keeps its id: leave it out or give the one in the path' }]);
      }
      const before = await services.clients.find(realm, params.clientId);
      const after = clientView(await services.clients.update(realm, params.clientId, definition));
      return { status: 200, body: after, audit: { target: params.clientId, before: before && clientView(before), after } };
    },
  }),
  adminRoute({
    method: 'PATCH',
    url: '/v1/realms/:realm/clients/:clientId',
    scope: 'admin:write',
    operationId: 'setClientDisabled',
    summary: 'Disable a client (and revoke everything issued to it), or enable it',
    description: 'A disabled client is unknown to the protocol endpoints of every realm layout: it cannot sign users in, obtain, introspect or revoke tokens. '
      + 'Takes effect at once on this instance, within the client cache lifetime (5 s) on others.',
    tag: TAG,
    schema: { params: ClientParams, body: ClientStateSchema, response: { 200: ClientSchema } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      const before = await services.clients.find(realm, params.clientId);
      const after = clientView(await services.clients.setDisabled(realm, params.clientId, body.disabled));
      return { status: 200, body: after, audit: { target: params.clientId, before: before && clientView(before), after } };
    },
  }),
  adminRoute({
    method: 'POST',
    url: '/v1/realms/:realm/clients/:clientId/secret',
    scope: 'admin:write',
    operationId: 'rotateClientSecret',
    summary: 'Give a client a new generated secret, shown in this answer only; the old one is accepted for overlap_seconds more',
    description: 'One previous secret is kept: rotating again within the overlap drops the older one at once. Tokens already issued stay valid.',
    tag: TAG,
    schema: { params: ClientParams, body: SecretRotationSchema, response: { 200: CreatedClientSchema } },
    async handle({ params, body }, services) {
      const realm = requireRealm(services, params.realm);
      const { client, secret } = await services.clients.rotateSecret(realm, params.clientId, body.overlap_seconds ?? DEFAULT_SECRET_OVERLAP_SECONDS);
      // The event says that it was rotated and until when the old one works; never either secret.
      const after = clientView(client);
      return { status: 200, body: { ...after, client_secret: secret }, audit: { target: params.clientId, after } };
    },
  }),
  adminRoute({
    method: 'DELETE',
    url: '/v1/realms/:realm/clients/:clientId',
    scope: 'admin:write',
    operationId: 'deleteClient',
    summary: 'Remove a client and revoke everything issued to it',
    tag: TAG,
    schema: { params: ClientParams, response: { 204: Type.Null() } },
    async handle({ params }, services) {
      const realm = requireRealm(services, params.realm);
      const before = await services.clients.find(realm, params.clientId);
      if (!(await services.clients.remove(realm, params.clientId))) throw new ClientNotFoundError(realm, params.clientId);
      return { status: 204, audit: { target: params.clientId, before: before && clientView(before) } };
    },
  }),
];
