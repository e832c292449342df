import { parseDeclarativeSetup, type DeclarativeSetup } from '../../src/config/index.ts';

export const SECRETS = {
  web1: 'web1-secret-for-tests-only',
  web2: 'web2-secret-for-tests-only',
  svc: 'svc-secret-for-tests-only',
  rs: 'rs-secret-for-tests-only',
  alice: 'alice-password-for-tests',
} as const;

/** A setup file's content before it is parsed: what a YAML or JSON file holds. */
export interface SetupDocument {
  realms: Array<{ name: string; clients?: Record<string, unknown>[]; users?: Record<string, unknown>[]; [field: string]: unknown }>;
}

/**
 * A setup as the server would read it from its file: through the same parser
 * (schema, client rules, duplicates), so a test never runs on a setup that
 * the server would have refused.
 */
export function parseSetup(document: SetupDocument): DeclarativeSetup {
  return parseDeclarativeSetup(document, { env: {}, nodeEnv: 'test' });
}

/** An empty setup: the declarative file declares nothing. */
export const EMPTY_SETUP: DeclarativeSetup = parseSetup({ realms: [] });

/**
 * The setup of SECURITY-CATALOG.md: web1/web2 confidential, spa1 public,
 * native1 a native app, svc a client_credentials service, rs a resource
 * server allowed to introspect any token; one user, alice.
 */
export function demoSetup(overrides: { ttl?: Record<string, number> } = {}): DeclarativeSetup {
  return parseSetup(demoSetupDocument(overrides));
}

/** The demo setup as a file holds it, for tests that add to it or write it out. */
export function demoSetupDocument(overrides: { ttl?: Record<string, number> } = {}): SetupDocument {
  const web = (id: string, secret: string) => ({
    client_id: id,
    client_secret: secret,
    client_name: `Web app ${id}`,
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [`https://${id === 'web1' ? 'app' : 'app2'}.test/cb`, `https://${id === 'web1' ? 'app' : 'app2'}.test/other`],
    post_logout_redirect_uris: [`https://${id === 'web1' ? 'app' : 'app2'}.test/bye`],
    scope: 'openid profile email offline_access',
  });
  return {
    realms: [{
      name: 'default',
      ...(overrides.ttl ? { ttl: overrides.ttl } : {}),
      clients: [
        web('web1', SECRETS.web1),
        web('web2', SECRETS.web2),
        {
          client_id: 'spa1',
          application_type: 'web',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          redirect_uris: ['https://spa.test/cb'],
          post_logout_redirect_uris: [],
          scope: 'openid profile email',
        },
        {
          client_id: 'native1',
          application_type: 'native',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: ['http://127.0.0.1/cb'],
          post_logout_redirect_uris: [],
        },
        {
          client_id: 'svc',
          client_secret: SECRETS.svc,
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          post_logout_redirect_uris: [],
          scope: 'api:read api:write',
        },
        {
          client_id: 'rs',
          client_secret: SECRETS.rs,
          token_endpoint_auth_method: 'client_secret_basic',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          post_logout_redirect_uris: [],
          permissions: ['introspection'],
        },
      ],
      users: [{
        username: 'alice',
        password: SECRETS.alice,
        email: 'alice@example.test',
        email_verified: true,
        name: 'Alice Example',
        given_name: 'Alice',
        family_name: 'Example',
      }],
    }],
  };
}
