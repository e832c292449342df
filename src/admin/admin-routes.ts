import { existsSync, readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import { adminRoute, type AdminRoute } from './admin-route.ts';
import { auditRoutes } from './audit-routes.ts';
import { clientRoutes } from './client-routes.ts';
import { issuedRoutes } from './issued-routes.ts';
import { keyRoutes } from './key-routes.ts';
import { metricsRoutes } from './metrics-routes.ts';
import { openApiDocument } from './openapi-document.ts';
import { realmConfigurationRoutes } from './realm-configuration-routes.ts';
import { realmRoutes } from './realm-routes.ts';
import { registrationTokenRoutes } from './registration-token-routes.ts';
import { REFERENCE_PAGE } from './reference-page.ts';
import { setupRoutes } from './setup-routes.ts';
import { userRoutes } from './user-routes.ts';

/**
 * The route table of the admin API: the only list of its routes. The app
 * registers exactly these (src/admin/build-admin-app.ts refuses any other),
 * the OpenAPI document is generated from them, and the authorization matrix
 * (test/admin/authorization-matrix.test.ts) runs every one of them with no
 * token, a token of the wrong scope, a read-only token and a full one, so
 * that a route added here is documented and tested by that alone. Each
 * resource is a `*-routes.ts` next to this file, listed here.
 */
/** The browsable reference (src/admin/reference-page.ts): static, so served without a token; the document it loads needs one. */
const referenceRoute = adminRoute({
  method: 'GET',
  url: '/reference',
  scope: 'none',
  operationId: 'getReferencePage',
  summary: 'A browsable reference of this API (HTML)',
  description: 'A self-contained page that loads /openapi.json with a bearer token pasted into it, and renders the operations. It carries no data itself.',
  tag: 'meta',
  schema: { response: { 200: Type.String() } },
  async handle() {
    return { status: 200, body: REFERENCE_PAGE.html, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': REFERENCE_PAGE.csp } };
  },
});

const { version } = JSON.parse(readFileSync(packageJson(), 'utf8')) as { version: string };

/** The package's package.json, two folders up from the sources and three from their build (dist/src/admin). */
function packageJson(): URL {
  const fromSources = new URL('../../package.json', import.meta.url);
  return existsSync(fromSources) ? fromSources : new URL('../../../package.json', import.meta.url);
}

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

export const ADMIN_ROUTES: readonly AdminRoute[] = [
  openApiRoute, referenceRoute, ...realmRoutes, ...realmConfigurationRoutes, ...setupRoutes, ...clientRoutes, ...userRoutes,
  ...issuedRoutes, ...registrationTokenRoutes, ...keyRoutes, ...auditRoutes, ...metricsRoutes,
];
