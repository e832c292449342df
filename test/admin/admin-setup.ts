import type { Test } from 'tap';
import { startLatchkey, type RunningLatchkey } from '../helpers/latchkey-under-test.ts';
import { demoSetupDocument, parseSetup, type SetupDocument } from '../helpers/setups.ts';
import { postForm } from '../helpers/token-requests.ts';

/** Admin clients declared as an operator would declare them in the setup file (README "Administration"). */
export const ADMIN_SECRETS = {
  full: 'admin-full-secret-for-tests-only',
  readOnly: 'admin-read-secret-for-tests-only',
  metrics: 'admin-metrics-secret-for-tests-only',
} as const;

export function adminSetupDocument(): SetupDocument {
  const document = demoSetupDocument();
  const admin = (clientId: string, secret: string, scope: string) => ({
    client_id: clientId,
    client_secret: secret,
    grant_types: ['client_credentials'],
    permissions: ['admin'],
    scope,
  });
  document.realms[0]!.clients!.push(
    admin('admin-full', ADMIN_SECRETS.full, 'admin:read admin:write'),
    admin('admin-ro', ADMIN_SECRETS.readOnly, 'admin:read'),
    // What a Prometheus server is given: /metrics and nothing else.
    admin('admin-metrics', ADMIN_SECRETS.metrics, 'admin:metrics'),
  );
  document.realms.push({ name: 'acme', clients: [], users: [] });
  return document;
}

export interface AdminUnderTest extends RunningLatchkey {
  /** The admin listener's origin. */
  adminOrigin: string;
  /** Bearer tokens: full (admin:write), read-only (admin:read), and one of a client that is no admin (svc, api:read). */
  tokens: { full: string; readOnly: string; notAdmin: string };
  /** A fresh token of the given admin client. */
  token(clientId: string, secret: string, scope: string): Promise<string>;
  /** A request to the admin listener, JSON in and out. */
  call(method: string, path: string, options?: { token?: string | undefined; body?: unknown; headers?: Record<string, string> }): Promise<AdminAnswer>;
}

export interface AdminAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

/** A Latchkey with both listeners and the admin clients above, on the test's database. */
export async function startAdmin(t: Test, { document = adminSetupDocument(), env = {}, logLevel, databaseUrl }: {
  document?: SetupDocument;
  env?: Record<string, string>;
  logLevel?: string;
  /** A database of the test's own (a breakable one), instead of a fresh one. */
  databaseUrl?: string;
} = {}): Promise<AdminUnderTest> {
  const running = await startLatchkey(t, {
    setup: parseSetup(document), env, ...(logLevel ? { logLevel, requestLogging: true } : {}), ...(databaseUrl ? { databaseUrl } : {}),
  });
  if (!running.admin) throw new Error('the admin listener is off');
  const adminOrigin = running.admin;
  // Where the default realm's layout puts its token endpoint (/token, or Keycloak's and Okta's paths).
  const defaultRealm = running.latchkey.realms.find((realm) => realm.settings.name === 'default')!.settings;
  const discovery = await (await fetch(`${defaultRealm.issuer}/.well-known/openid-configuration`)).json() as { token_endpoint: string };
  const token = async (clientId: string, secret: string, scope: string) => {
    const response = await postForm(discovery.token_endpoint, { grant_type: 'client_credentials', scope }, { basic: [clientId, secret] });
    if (response.status !== 200) throw new Error(`no token for ${clientId}: ${response.status} ${response.text}`);
    return String(response.json!['access_token']);
  };
  const call: AdminUnderTest['call'] = async (method, path, { token: bearer, body, headers = {} } = {}) => {
    const response = await fetch(`${adminOrigin}${path}`, {
      method,
      headers: {
        ...(bearer === undefined ? {} : { authorization: `Bearer ${bearer}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
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
  };
  return {
    ...running,
    adminOrigin,
    token,
    call,
    tokens: {
      full: await token('admin-full', ADMIN_SECRETS.full, 'admin:read admin:write'),
      readOnly: await token('admin-ro', ADMIN_SECRETS.readOnly, 'admin:read'),
      notAdmin: await token('svc', 'svc-secret-for-tests-only', 'api:read'),
    },
  };
}
