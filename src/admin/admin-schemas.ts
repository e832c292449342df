import { Type, type TSchema } from '@sinclair/typebox';

/**
 * Schemas shared by the admin routes (RFC 9457 problems, pages, realm
 * parameters). Request schemas are what TypeBox checks before a handler
 * runs; response schemas are also an allow-list: Fastify's serializer
 * writes only the properties they name, so a hash or an internal field can
 * never reach a response by accident.
 */
export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'always about:blank: the status says what happened, `code` which problem it is' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.Optional(Type.String()),
  code: Type.Optional(Type.String({ description: "Latchkey's code for the problem, e.g. client_exists, insufficient_scope" })),
  errors: Type.Optional(Type.Array(Type.Object({
    field: Type.String({ description: 'where in the request, e.g. redirect_uris[0]' }),
    message: Type.String(),
  }))),
}, { description: 'RFC 9457 problem details' });

/** A realm's name, as the setup file allows it. */
export const RealmName = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'a realm served here, e.g. default' });

export const RealmParams = Type.Object({ realm: RealmName });

/** The statuses every admin route may answer besides its own, as problem details. */
export const COMMON_PROBLEMS = [400, 401, 403, 429, 500, 503] as const;

/** A page of a list: `next_cursor` goes back as `cursor` for the next page; null on the last. */
export function Page<T extends TSchema>(item: T) {
  return Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  });
}

export const DateTime = Type.String({ format: 'date-time' });
