import { Type } from '@sinclair/typebox';
import { adminRoute } from './admin-route.ts';

/**
 * Re-applying the setup file the server started with
 * (src/realms/setup-application.ts): the start's reading, validation and
 * apply, on request. A file that no longer validates is a 422 naming the
 * field, and nothing is applied.
 */
const Outcomes = Type.Object({ created: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer() });

const ReapplicationSchema = Type.Object({
  file: Type.String({ description: 'the file read (LATCHKEY_CONFIG)' }),
  applied: Type.Array(Type.Object({
    realm: Type.String(),
    resource_servers: Outcomes,
    clients: Outcomes,
    users: Type.Object({ ...Outcomes.properties, withoutPassword: Type.Integer({ description: 'declared without a password: they cannot sign in until one is set' }) }),
  }), { description: 'per realm, what was written: the report the start logs' }),
  needs_restart: Type.Array(Type.Object({ realm: Type.String(), change: Type.String() }), {
    description: 'what the file changes that the server reads only at start (new realms, layouts and aliases, lifetimes, branding): not applied now',
  }),
});

export const setupRoutes = [
  adminRoute({
    method: 'POST',
    url: '/v1/setup/applications',
    scope: 'admin:write',
    outsideUnitOfWork: 'applying the setup is one transaction of its own under the setup lock, as at start (src/realms/realm-setup.ts)',
    operationId: 'reapplySetup',
    summary: 'Re-apply the setup file the server started with',
    description: 'Reads LATCHKEY_CONFIG again, validates it with the start\'s rules, and applies the clients, users and resource servers of the realms served (idempotent: what is unchanged stays). Clients and users absent from the file are left alone. Changes that need a restart are named, not applied. Keys are not in the file: see /v1/keys.',
    tag: 'realms',
    schema: {
      body: Type.Object({}, { additionalProperties: false, description: 'empty: the file is the input' }),
      response: { 200: ReapplicationSchema },
    },
    async handle(_input, services) {
      return { status: 200, body: await services.setup.reapply() };
    },
  }),
];
