import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { adminRoute, type AdminRoute } from './admin-route.ts';
import { auditRoutes } from './audit-routes.ts';
import { clientRoutes } from './client-routes.ts';
import { openApiDocument } from './openapi-document.ts';
import { realmRoutes } from './realm-routes.ts';
import { userRoutes } from './user-routes.ts';

/**
 * The route table of the admin API: the only list of its routes. The app
 * registers exactly these (src/admin/build-admin-app.ts refuses any other),
 * the OpenAPI document is generated from them, and the authorization matrix
 * (test/admin/authorization-matrix.test.ts) runs every one of them with no
 * token, a token of the wrong scope, a read-only token and a full one, so
 * that a route added here is documented and tested by that alone.
 *
 * Resources to come (issue 12): tokens and grants, sessions and consents,
 * keys, realm configuration, registration tokens, audit events; each a
 * `*-routes.ts` next to these, listed here.
 */
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

let document: Record<string, unknown> | undefined;

const openApiRoute = adminRoute({
  method: 'GET',
  url: '/openapi.json',
  scope: 'admin:read',
  operationId: 'getOpenApiDocument',
  summary: 'This API, as an OpenAPI 3.1 document',
  tag: 'meta',
  schema: { response: { 200: Type.Unsafe<Record<string, unknown>>({ type: 'object', additionalProperties: true }) } },
  async handle() {
    document ??= openApiDocument(ADMIN_ROUTES, { version });
    return { status: 200, body: document };
  },
});

export const ADMIN_ROUTES: readonly AdminRoute[] = [openApiRoute, ...realmRoutes, ...clientRoutes, ...userRoutes, ...auditRoutes];
