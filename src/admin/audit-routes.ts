import { Type } from '@sinclair/typebox';
import { InvalidRequestError } from '../errors/index.ts';
import { adminRoute, requireRealm } from './admin-route.ts';
import { DateTime, Page, RealmParams } from './admin-schemas.ts';
import { PageQuery, readPage } from './pagination.ts';

/**
 * Audit events (src/audit/): a realm's, newest first. Changes made through
 * this API are under the admin realm's name (default), whichever realm
 * they changed (`details.realm`).
 */
const AuditEventSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  occurred_at: DateTime,
  realm: Type.String(),
  type: Type.String({ description: 'dotted, e.g. sign_in.failed, token.issued, admin.createClient' }),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  actor: Type.Union([Type.String(), Type.Null()], { description: 'who acted: an account id, a client id, or an admin client' }),
  client_id: Type.Union([Type.String(), Type.Null()]),
  user: Type.Union([Type.String(), Type.Null()], { description: 'an account id, or the login as typed when none matched' }),
  address: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  details: Type.Record(Type.String(), Type.Unknown(), { description: 'grant type, scopes, error codes; before/after of admin changes. Never a secret' }),
});

/** An RFC 3339 time, checked again when parsed. */
const Instant = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?(Z|[+-]\\d{2}:\\d{2})$', maxLength: 40 });

const AuditQuery = Type.Object({
  ...PageQuery.properties,
  type: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)*\\.?$', maxLength: 100, description: 'a type (sign_in.failed) or a family (sign_in, admin)' })),
  client_id: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'an account id, or a login as typed' })),
  outcome: Type.Optional(Type.Union([Type.Literal('success'), Type.Literal('failure')])),
  since: Type.Optional({ ...Instant, description: 'events at or after this time (RFC 3339)' }),
  until: Type.Optional({ ...Instant, description: 'events before this time (RFC 3339)' }),
}, { additionalProperties: false });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function instant(field: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw new InvalidRequestError(`${field}: not a time`, [{ field, message: 'not a time (RFC 3339)' }]);
  return time;
}

/** The (occurred_at, id) a cursor names; what the pagination decoded is ours, but its parts are checked before SQL sees them. */
function positionOf(key: string | undefined) {
  if (key === undefined) return undefined;
  const [time, id] = key.split('|');
  const occurredAt = new Date(time ?? '');
  if (Number.isNaN(occurredAt.getTime()) || !UUID.test(id ?? '')) {
    throw new InvalidRequestError('cursor: not a cursor this API handed out', [{ field: 'cursor', message: 'not a cursor this API handed out' }]);
  }
  return { occurredAt, id: id! };
}

export const auditRoutes = [
  adminRoute({
    method: 'GET',
    url: '/v1/realms/:realm/audit-events',
    scope: 'admin:read',
    operationId: 'listAuditEvents',
    summary: "List a realm's audit events, newest first",
    description: 'Filters combine (all must hold). Changes made through this API are listed under the admin realm (default).',
    tag: 'audit',
    schema: { params: RealmParams, querystring: AuditQuery, response: { 200: Page(AuditEventSchema) } },
    async handle({ params, query }, services) {
      const realm = requireRealm(services, params.realm);
      const filter = {
        type: query.type, clientId: query.client_id, user: query.user, outcome: query.outcome,
        since: instant('since', query.since), until: instant('until', query.until),
      };
      const page = await readPage(
        query,
        (range) => services.auditEvents(realm, filter, { after: positionOf(range.after), limit: range.limit }),
        (event) => `${event.occurred_at.toISOString()}|${event.id}`,
      );
      return { status: 200, body: page };
    },
  }),
];
