import { Type } from '@sinclair/typebox';
import { adminRoute } from './admin-route.ts';

/** The realms this server serves, so that a program can find the names the other routes take. */
const RealmSchema = Type.Object({
  name: Type.String(),
  issuers: Type.Array(Type.Object({
    issuer: Type.String({ description: "the issuer URL of one of the realm's layouts (its aliases included)" }),
    layout: Type.String({ description: 'standard, keycloak or okta' }),
  })),
});

export const realmRoutes = [
  adminRoute({
    method: 'GET',
    url: '/v1/realms',
    scope: 'admin:read',
    operationId: 'listRealms',
    summary: 'List the realms served here and their issuers',
    tag: 'realms',
    schema: { response: { 200: Type.Object({ items: Type.Array(RealmSchema) }) } },
    async handle(_input, services) {
      return { status: 200, body: { items: services.realms } };
    },
  }),
];
