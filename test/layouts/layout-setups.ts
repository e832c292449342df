import { demoSetupDocument, parseSetup, SECRETS, type SetupDocument } from '../helpers/setups.ts';

/**
 * The demo realm's clients and users (test/helpers/setups.ts) in a realm of
 * each layout: `ifs` as IFS Cloud serves it (Keycloak's paths under /auth),
 * `okta` as an Okta custom authorization server (`default`), `kc` as
 * Keycloak 17+ serves it (no prefix).
 */
export const SERVICE_SECRET = 'ifs-service-secret-for-tests';

export function layoutsDocument(): SetupDocument {
  const demo = demoSetupDocument().realms[0]!;
  const users = [
    { ...demo.users![0], given_name: 'Alice', family_name: 'Liddell', roles: ['ifs-admin', 'orders-api:reader'], groups: ['Order Desk'] },
  ];
  const clients = () => [
    ...demo.clients!,
    {
      client_id: 'ifs-service', client_secret: SERVICE_SECRET, grant_types: ['client_credentials'],
      response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'roles', roles: ['integration'],
    },
    {
      // webMethods Integration Server's redirection endpoint service (seed "webMethods + Okta").
      client_id: 'integration-server', client_secret: SERVICE_SECRET, grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'], redirect_uris: ['https://is.test/invoke/oauth/callback'], post_logout_redirect_uris: [], scope: 'openid groups',
    },
    {
      // As the IFS Cloud guide's integration sends its credentials: in the form.
      client_id: 'ifs-script', client_secret: SERVICE_SECRET, grant_types: ['password', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_post',
      response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'openid profile email roles groups',
    },
  ];
  const { name: _name, clients: _clients, users: _users, ...rest } = demo;
  return {
    realms: [
      { name: 'ifs', layout: { type: 'keycloak', path_prefix: '/auth' }, ttl: { access_token: 180, refresh_token: 1800 }, ...rest, clients: clients(), users },
      { name: 'kc', layout: 'keycloak', ...rest, clients: clients(), users },
      { name: 'default', layout: 'okta', ...rest, clients: clients(), users },
    ],
  };
}

export const layoutsSetup = () => parseSetup(layoutsDocument());
export { SECRETS };
