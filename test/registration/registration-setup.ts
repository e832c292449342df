import type { Test } from 'tap';
import { adminSetupDocument, startAdmin, type AdminUnderTest } from '../admin/admin-setup.ts';
import { SECRETS } from '../helpers/setups.ts';

/**
 * A Latchkey with the admin listener and three realms: `default` (no
 * registration: the default), `acme` (registration with the default policy:
 * the code flow, OpenID scopes), `partners` (a policy that also allows
 * client_credentials and an API scope, public clients refused, no
 * management, jwks_uri allowed) and `kc` (Keycloak's layout, registration on). Each realm
 * other than default has alice, for code flows.
 */
export async function startRegistration(t: Test, options: { databaseUrl?: string } = {}): Promise<RegistrationUnderTest> {
  const document = adminSetupDocument();
  const alice = { ...document.realms[0]!.users![0]! };
  document.realms = document.realms.filter((realm) => realm.name !== 'acme');
  document.realms.push(
    { name: 'acme', registration: { enabled: true }, clients: [], users: [alice] },
    {
      name: 'partners',
      registration: {
        enabled: true,
        management: false,
        grant_types: ['client_credentials'],
        token_endpoint_auth_methods: ['client_secret_basic', 'private_key_jwt'],
        scopes: ['orders:read'],
        allow_jwks_uri: true,
      },
      clients: [],
      users: [],
    },
    { name: 'kc', layout: 'keycloak', registration: { enabled: true }, clients: [], users: [alice] },
  );
  const admin = await startAdmin(t, { document, ...options });
  const issuerOf = (realm: string) => admin.latchkey.realms.find((r) => r.settings.name === realm)!.settings.issuer;
  return {
    ...admin,
    issuerOf,
    async issueToken(realm, body = {}) {
      const answer = await admin.call('POST', `/v1/realms/${realm}/initial-access-tokens`, { token: admin.tokens.full, body });
      if (answer.status !== 201) throw new Error(`no initial access token for ${realm}: ${answer.status} ${answer.text}`);
      return answer.json as IssuedToken;
    },
    async register(realm, metadata, token) {
      const discovery = await (await fetch(`${issuerOf(realm)}/.well-known/openid-configuration`)).json() as { registration_endpoint: string };
      return jsonRequest('POST', discovery.registration_endpoint, { body: metadata, token });
    },
  };
}

export interface IssuedToken {
  id: string;
  token: string;
  uses_allowed: number;
  uses_left: number;
  expires_at: string;
}

export interface JsonAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface RegistrationUnderTest extends AdminUnderTest {
  issuerOf(realm: string): string;
  /** An initial access token from the admin API. */
  issueToken(realm: string, body?: Record<string, unknown>): Promise<IssuedToken>;
  /** A raw RFC 7591 registration request at the realm's advertised endpoint. */
  register(realm: string, metadata: unknown, token: string | undefined): Promise<JsonAnswer>;
}

/** JSON in, JSON out, with an optional bearer token; a string body is sent as it is. */
export async function jsonRequest(method: string, url: string, { body, token, headers = {} }: { body?: unknown; token?: string | undefined; headers?: Record<string, string> } = {}): Promise<JsonAnswer> {
  const response = await fetch(url, {
    method,
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A web client for the code flow, as a registrant would describe it. */
export const WEB_CLIENT = {
  client_name: 'Registered web app',
  redirect_uris: ['https://registered.test/cb'],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  logo_uri: 'https://registered.test/logo.png',
};

export { SECRETS };
