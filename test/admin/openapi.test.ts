import { Validator } from '@seriousme/openapi-schema-validator';
import t from 'tap';
import { ADMIN_ROUTES } from '../../src/admin/admin-routes.ts';
import { readEnv } from '../../src/config/index.ts';
import { startAdmin } from './admin-setup.ts';

// The OpenAPI 3.1 document is generated from the route table: it describes
// exactly the routes the admin listener serves, each with its scope and
// schemas. And the listener's settings: loopback by default, off on request.
const admin = await startAdmin(t);
const answer = await admin.call('GET', '/openapi.json', { token: admin.tokens.readOnly });
const document = answer.json as {
  openapi: string;
  paths: Record<string, Record<string, {
    operationId: string; security: { bearer: string[] }[]; parameters?: { name: string; in: string }[];
    requestBody?: unknown; responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
  }>>;
  components: { securitySchemes: Record<string, unknown>; schemas: Record<string, unknown> };
};

t.test('an OpenAPI 3.1 document, served as JSON to an admin:read token', async (t) => {
  t.equal(answer.status, 200);
  t.match(answer.headers.get('content-type'), /^application\/json/);
  t.equal(document.openapi, '3.1.0');
  t.match(document.components.securitySchemes['bearer'], { type: 'http', scheme: 'bearer' });
});

t.test('valid against the OpenAPI 3.1 schema (an independent validator)', async (t) => {
  const validator = new Validator();
  const result = await validator.validate(structuredClone(answer.json) as Parameters<Validator['validate']>[0]);
  t.equal(validator.version, '3.1');
  t.ok(result.valid, `valid${result.valid ? '' : `: ${JSON.stringify(result.errors).slice(0, 2000)}`}`);
});

t.test('exactly the routes of the table, each with its scope, parameters, body and answers', async (t) => {
  const operations = Object.entries(document.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`));
  t.same(operations.sort(), ADMIN_ROUTES.map((route) => `${route.method} ${route.url.replace(/:([A-Za-z]+)/g, '{$1}')}`).sort());
  const ids = new Set<string>();
  for (const route of ADMIN_ROUTES) {
    const operation = document.paths[route.url.replace(/:([A-Za-z]+)/g, '{$1}')]![route.method.toLowerCase()]!;
    t.notOk(ids.has(operation.operationId), `${operation.operationId} is unique`);
    ids.add(operation.operationId);
    if (route.scope === 'none') {
      t.same(operation.security, [], `${route.operationId}: no token (static documentation)`);
      t.notOk(operation.responses['401'], `${route.operationId}: no 401`);
      continue;
    }
    t.same(operation.security, [{ bearer: [route.scope] }], `${route.operationId}: ${route.scope}`);
    const pathParameters = [...route.url.matchAll(/:([A-Za-z]+)/g)].map((match) => match[1]);
    t.same(operation.parameters?.filter((p) => p.in === 'path').map((p) => p.name) ?? [], pathParameters, `${route.operationId}: path parameters`);
    t.equal(operation.requestBody !== undefined, route.schema.body !== undefined, `${route.operationId}: request body`);
    const success = Object.keys(route.schema.response)[0]!;
    t.ok(operation.responses[success], `${route.operationId}: ${success}`);
    for (const status of ['401', '403', '503']) {
      t.same(operation.responses[status]?.content?.['application/problem+json']?.schema, { $ref: '#/components/schemas/Problem' }, `${route.operationId}: ${status} problem`);
    }
  }
  t.ok(document.components.schemas['Problem'], 'the Problem schema');
  t.notMatch(JSON.stringify(document), /"\[object|Symbol\(|"Kind"/, 'plain JSON Schema, no TypeBox bookkeeping');
});

t.test('the client answer lists its fields; no hash or secret column is ever described', async (t) => {
  const client = document.paths['/v1/realms/{realm}/clients/{clientId}']!['get']!.responses['200']!.content!['application/json']!.schema as { properties: Record<string, unknown> };
  t.ok(client.properties['redirect_uris'] && client.properties['secret_storage'], 'metadata and secret_storage');
  t.notOk(JSON.stringify(document).includes('secret_hash') || JSON.stringify(document).includes('password_hash'), 'no hash anywhere in the document');
});

t.test('the admin listener\'s settings', async (t) => {
  t.same(readEnv({}).admin, { port: 3001, host: '127.0.0.1' }, 'on by default, loopback only');
  t.same(readEnv({ LATCHKEY_ADMIN_PORT: '9100', LATCHKEY_ADMIN_HOST: '0.0.0.0' }).admin, { port: 9100, host: '0.0.0.0' });
  t.equal(readEnv({ LATCHKEY_ADMIN_PORT: 'off' }).admin, undefined, 'off');
  t.equal(readEnv({ LATCHKEY_ADMIN_PORT: 'OFF' }).admin, undefined);
  t.throws(() => readEnv({ LATCHKEY_ADMIN_PORT: 'nine' }), { message: /LATCHKEY_ADMIN_PORT: must be a whole number/ });
  t.throws(() => readEnv({ LATCHKEY_ADMIN_PORT: '70000' }), { message: /LATCHKEY_ADMIN_PORT/ });
  t.throws(() => readEnv({ PORT: '4000', LATCHKEY_ADMIN_PORT: '4000' }), { message: /LATCHKEY_ADMIN_PORT: must differ from PORT/ });
});
