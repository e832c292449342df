/**
 * Client definitions, good and bad, that both the setup file and
 * `latchkey clients add` can express (RFC 7591 names, no secret: where the
 * auth method uses one, the file declares it and the CLI generates it).
 */
export type Definition = Record<string, unknown> & { client_id: string };

export interface Row {
  title: string;
  client: Definition;
  /** The field the rules name and the problem, when the client is refused. */
  refused?: [field: string, problem: RegExp];
  /** Refused in production only: a development convenience. */
  productionOnly?: boolean;
}

const web = (id: string, extra: Record<string, unknown> = {}): Definition => ({
  client_id: id, redirect_uris: [`https://${id}.example.test/cb`], ...extra,
});
const service = (id: string, extra: Record<string, unknown> = {}): Definition => ({
  client_id: id, grant_types: ['client_credentials'], ...extra,
});
const native = (id: string, uri: string): Definition => ({ client_id: id, application_type: 'native', redirect_uris: [uri] });

export const ROWS: Row[] = [
  // Accepted everywhere.
  { title: 'a confidential web client', client: web('orders', { client_name: 'Orders', post_logout_redirect_uris: ['https://orders.example.test/'], scope: 'openid profile email' }) },
  { title: 'a service', client: service('billing', { scope: 'api:read api:write' }) },
  { title: 'a resource server that introspects', client: service('gateway', { permissions: ['introspection'] }) },
  { title: 'a public single-page app', client: web('spa', { token_endpoint_auth_method: 'none' }) },
  { title: 'a native app: loopback and a private-use scheme', client: { ...native('desktop', 'http://127.0.0.1/cb'), redirect_uris: ['http://127.0.0.1/cb', 'com.example.desktop:/cb'] } },
  { title: 'a native app on http://localhost', client: native('cli-tool', 'http://localhost/cb') },
  { title: 'private_key_jwt, inferred from jwks_uri', client: service('signer', { jwks_uri: 'https://signer.example.test/jwks' }) },
  {
    title: 'full branding, markup characters in the name',
    client: web('branded', {
      client_name: '<Acme & "Co">', logo_uri: 'https://cdn.example.test/logo.svg', background_uri: '/assets/bg.jpg',
      primary_color: '#1A73E8', policy_uri: 'https://branded.example.test/privacy', tos_uri: 'https://branded.example.test/terms',
    }),
  },

  // Development conveniences, refused in production.
  { title: 'a web client on http://localhost', client: web('local-web', { redirect_uris: ['http://localhost:8080/callback'] }), refused: ['redirect_uris[0]', /production/], productionOnly: true },
  { title: 'a web client signing out to http://127.0.0.1', client: web('local-logout', { post_logout_redirect_uris: ['http://127.0.0.1:5173/'] }), refused: ['post_logout_redirect_uris[0]', /production/], productionOnly: true },

  // client_id (RFC 6749 Appendix A.1; oidc-provider refuses anything else at the first request).
  { title: 'a non-ASCII client_id', client: service('café'), refused: ['client_id', /ASCII/] },
  { title: 'a client_id of 257 characters', client: service('c'.repeat(257)), refused: ['client_id', /256/] },

  // Redirect URIs.
  { title: 'a wildcard', client: web('wild', { redirect_uris: ['https://*.example.test/cb'] }), refused: ['redirect_uris[0]', /wildcard/] },
  { title: 'http on a public host', client: web('plain', { redirect_uris: ['http://app.example.test/cb'] }), refused: ['redirect_uris[0]', /https/] },
  { title: 'a fragment', client: web('frag', { redirect_uris: ['https://frag.example.test/cb#x'] }), refused: ['redirect_uris[0]', /fragment/] },
  { title: 'javascript:', client: web('js', { redirect_uris: ['https://js.example.test/cb', 'javascript:alert(1)'] }), refused: ['redirect_uris[1]', /javascript/] },
  { title: 'a relative URI', client: web('rel', { redirect_uris: ['/cb'] }), refused: ['redirect_uris[0]', /absolute/] },
  { title: 'a private-use scheme for a web client', client: web('webapp', { redirect_uris: ['com.example.app:/cb'] }), refused: ['redirect_uris[0]', /native/] },
  { title: 'a native app: a private-use scheme that is no domain', client: native('myapp', 'myapp:/cb'), refused: ['redirect_uris[0]', /reverse domain/] },
  { title: 'a native app: https on a loopback host', client: native('loop-https', 'https://127.0.0.1/cb'), refused: ['redirect_uris[0]', /RFC 8252/] },
  { title: 'a redirect URI listed twice', client: web('twice', { redirect_uris: ['https://twice.example.test/cb', 'https://twice.example.test/cb'] }), refused: ['redirect_uris[1]', /twice/] },
  { title: '101 redirect URIs', client: web('many', { redirect_uris: Array.from({ length: 101 }, (_, i) => `https://many.example.test/cb${i}`) }), refused: ['redirect_uris', /at most 100/] },
  { title: 'the code flow without a redirect URI', client: { client_id: 'no-redirect' }, refused: ['redirect_uris', /at least one/] },
  { title: 'client_credentials with a redirect URI', client: service('svc-redirect', { redirect_uris: ['https://svc.example.test/cb'] }), refused: ['redirect_uris', /only the authorization_code grant/] },
  { title: 'client_credentials with a post-logout URI', client: service('svc-logout', { post_logout_redirect_uris: ['https://svc.example.test/'] }), refused: ['post_logout_redirect_uris', /signs users in/] },

  // Grants, auth methods, permissions.
  { title: 'refresh_token alone', client: service('refresh-only', { grant_types: ['refresh_token'] }), refused: ['grant_types', /authorization_code/] },
  { title: 'the implicit grant', client: service('implicit', { grant_types: ['implicit'] }), refused: ['grant_types[0]', /one of/] },
  { title: 'the password grant, opt-in', client: service('pw', { grant_types: ['password', 'refresh_token'] }) },
  { title: 'a grant listed twice', client: web('grants', { grant_types: ['authorization_code', 'authorization_code'] }), refused: ['grant_types[1]', /twice/] },
  { title: 'client_secret_jwt', client: service('jwt-secret', { token_endpoint_auth_method: 'client_secret_jwt' }), refused: ['token_endpoint_auth_method', /one of/] },
  { title: 'a public client with client_credentials', client: service('public-svc', { token_endpoint_auth_method: 'none' }), refused: ['grant_types', /public client/] },
  { title: 'a native app with client_credentials (public by default)', client: { client_id: 'native-svc', application_type: 'native', grant_types: ['client_credentials'] }, refused: ['grant_types', /public client/] },
  { title: 'a public client with a permission', client: web('public-rs', { token_endpoint_auth_method: 'none', permissions: ['introspection'] }), refused: ['permissions', /public client/] },
  { title: 'an unknown permission', client: service('superuser', { permissions: ['superuser'] }), refused: ['permissions[0]', /introspection/] },
  { title: 'private_key_jwt without keys', client: service('keyless', { token_endpoint_auth_method: 'private_key_jwt' }), refused: ['jwks_uri', /jwks/] },
  { title: 'jwks_uri with a client secret', client: service('mixed', { token_endpoint_auth_method: 'client_secret_basic', jwks_uri: 'https://mixed.example.test/jwks' }), refused: ['jwks_uri', /only used with token_endpoint_auth_method private_key_jwt/] },
  { title: 'jwks_uri over http', client: service('http-keys', { jwks_uri: 'http://keys.example.test/jwks' }), refused: ['jwks_uri', /https/] },

  // Scope (RFC 6749 §3.3).
  { title: 'a quoted scope', client: service('quoted', { scope: 'api:read "x"' }), refused: ['scope', /printable/] },
  { title: 'a scope named twice', client: service('dup-scope', { scope: 'api:read api:read' }), refused: ['scope', /twice/] },

  // Branding (README "Branding"; SECURITY-CATALOG 82–84).
  { title: 'a name of 101 characters', client: web('long-name', { client_name: 'n'.repeat(101) }), refused: ['client_name', /100/] },
  { title: 'a name with a text-direction override', client: web('bidi', { client_name: 'evil\u202Egnp.exe' }), refused: ['client_name', /text-direction/] },
  { title: 'a logo over http', client: web('http-logo', { logo_uri: 'http://cdn.example.test/logo.png' }), refused: ['logo_uri', /https/] },
  { title: 'a logo as a path', client: web('path-logo', { logo_uri: '/assets/logo.png' }), refused: ['logo_uri', /https/] },
  { title: 'a background that leaves the stylesheet', client: web('css', { background_uri: 'https://x.example.test/a.png);}</style>' }), refused: ['background_uri', /parentheses/] },
  { title: 'a colour by name', client: web('red', { primary_color: 'red' }), refused: ['primary_color', /colour/] },
];

/** What `clients add` does with a definition without an auth method (README "CLI"); the file infers it from the secret. */
export function cliAuthMethod(client: Definition): unknown {
  return client['token_endpoint_auth_method']
    ?? (client['application_type'] === 'native' ? 'none' : client['jwks_uri'] !== undefined ? 'private_key_jwt' : 'client_secret_basic');
}

export function usesSecret(client: Definition): boolean {
  const method = cliAuthMethod(client);
  return method === 'client_secret_basic' || method === 'client_secret_post';
}

const FLAGS: Record<string, string> = {
  client_name: 'name', grant_types: 'grant', token_endpoint_auth_method: 'auth-method', redirect_uris: 'redirect-uri',
  post_logout_redirect_uris: 'post-logout-redirect-uri', scope: 'scope', permissions: 'permission', jwks_uri: 'jwks-uri',
  logo_uri: 'logo-uri', background_uri: 'background-uri', primary_color: 'primary-color', policy_uri: 'policy-uri', tos_uri: 'tos-uri',
};

/** The `latchkey clients add` command line for a definition. */
export function clientsAddArgv(client: Definition, realm: string): string[] {
  const argv = ['clients', 'add', client.client_id, '--realm', realm];
  for (const [field, value] of Object.entries(client)) {
    if (field === 'client_id') continue;
    if (field === 'application_type') {
      if (value === 'native') argv.push('--native');
      continue;
    }
    const flag = FLAGS[field];
    if (!flag) throw new Error(`no flag for ${field}`);
    for (const one of [value].flat()) argv.push(`--${flag}`, String(one));
  }
  return argv;
}
