import type { TSchema } from '@sinclair/typebox';
import type { AdminRoute } from './admin-route.ts';
import { COMMON_PROBLEMS, ProblemSchema } from './admin-schemas.ts';

/**
 * The OpenAPI 3.1 document of the admin API, generated from the route
 * table (src/admin/admin-routes.ts), whose TypeBox schemas are JSON Schema
 * 2020-12 as OpenAPI 3.1 takes it: the document cannot describe a route
 * that does not exist, or miss one that does. Written here rather than
 * with @fastify/swagger because the table already holds what the document
 * says (scopes, operation ids, tags) and the generator is this one function.
 */
export function openApiDocument(routes: readonly AdminRoute[], { version }: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:([A-Za-z]+)/g, '{$1}');
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(route);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Latchkey admin API',
      version,
      description: 'Administration of a Latchkey server, on its own listener. Every request needs a bearer token issued by the default realm through client credentials to a client with permissions [admin]: admin:read for reading, admin:write for everything, admin:metrics for /metrics only.',
    },
    security: [{ bearer: ['admin:read'] }],
    tags: [...new Set(routes.map((route) => route.tag))].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'an access token from the default realm\'s token endpoint (client_credentials, scope admin:read, admin:write or admin:metrics)' },
      },
      schemas: { Problem: plain(ProblemSchema) },
    },
  };
}

function operation(route: AdminRoute): Record<string, unknown> {
  const { params, querystring, body, response } = route.schema;
  const parameters = [
    ...Object.entries(params?.properties ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema: plain(schema) })),
    ...Object.entries(querystring?.properties ?? {}).map(([name, schema]) => ({
      name, in: 'query', required: querystring?.required?.includes(name) ?? false, schema: plain(schema),
    })),
  ];
  const responses: Record<string, unknown> = {};
  if (route.scope === 'none') {
    // Static documentation: no token, no problems of its own.
    return {
      operationId: route.operationId, summary: route.summary, ...(route.description ? { description: route.description } : {}), tags: [route.tag],
      security: [], 'x-required-scope': 'none',
      responses: Object.fromEntries(Object.entries(response).map(([status, schema]) => [status, { description: 'success', content: { 'text/html': { schema: plain(schema) } } }])),
    };
  }
  for (const [status, schema] of Object.entries(response)) {
    responses[status] = Number(status) === 204
      ? { description: 'done' }
      : { description: 'success', content: { [route.contentType ?? 'application/json']: { schema: plain(schema) } } };
  }
  for (const status of [...COMMON_PROBLEMS, ...(params?.properties ? [404] : []), ...(body ? [409, 415, 422] : [])]) {
    responses[String(status)] ??= { description: 'problem', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
  }
  return {
    operationId: route.operationId,
    summary: route.summary,
    ...(route.description ? { description: route.description } : {}),
    tags: [route.tag],
    security: [{ bearer: [route.scope] }],
    'x-required-scope': route.scope,
    ...(parameters.length ? { parameters } : {}),
    ...(body ? { requestBody: { required: true, content: { 'application/json': { schema: plain(body) } } } } : {}),
    responses,
  };
}

/** A TypeBox schema as plain JSON Schema: its symbol-keyed bookkeeping and `Optional` marks dropped. */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
