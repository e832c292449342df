import t from 'tap';
import { checkClient } from '../../src/config/index.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { demoSetupDocument, parseSetup } from '../helpers/setups.ts';

// A client's web origins (Keycloak's webOrigins): which pages may read its
// answers across origins. Without them, the origins of its redirect URIs
// (oidc-provider's rule); with them, exactly those, `+` standing for the
// redirect URIs' origins. The rule of which endpoints allow CORS for which
// clients is the engine's: a public client everywhere it calls, any client
// at userinfo.
const spa = (id: string, webOrigins?: string[]) => ({
  client_id: id, application_type: 'web', token_endpoint_auth_method: 'none',
  grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
  redirect_uris: ['https://spa.test/cb'], post_logout_redirect_uris: [], scope: 'openid',
  ...(webOrigins ? { web_origins: webOrigins } : {}),
});

t.test('the rule: origins exactly as browsers send them, or +; never a wildcard', async (t) => {
  for (const good of [['+'], ['https://app.example.com'], ['http://127.0.0.1:8080', '+'], []]) {
    t.ok(checkClient(spa('x', good), { production: false }).client, JSON.stringify(good));
  }
  for (const bad of ['*', 'https://app.example.com/', 'https://app.example.com/path', 'HTTPS://APP.example.com', 'app.example.com', 'ftp://x.example', 'https://*.example.com']) {
    const check = checkClient(spa('x', [bad]), { production: false });
    t.notOk(check.client, bad);
    t.match(check.problems[0], { field: 'web_origins[0]' });
  }
  t.notOk(checkClient(spa('x', ['+', '+']), { production: false }).client, 'listed twice');
});

const document = demoSetupDocument();
document.realms[0]!.clients!.push(
  spa('spa-listed', ['https://other.test']),
  spa('spa-plus', ['+', 'https://other.test']),
  spa('spa-none', []),
);
const { issuer } = await startLatchkey(t, { setup: parseSetup(document), logLevel: 'silent' });

async function tokenEndpointFrom(origin: string, clientId: string): Promise<Response> {
  return fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { origin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: clientId }),
  });
}
const allowed = async (origin: string, clientId: string) => (await tokenEndpointFrom(origin, clientId)).headers.get('access-control-allow-origin') === origin;

t.test('CORS at the token endpoint follows the client\'s web origins', async (t) => {
  t.equal(await allowed('https://spa.test', 'spa1'), true, 'no web_origins: its redirect origin');
  t.equal(await allowed('https://other.test', 'spa1'), false);
  t.equal(await allowed('https://other.test', 'spa-listed'), true, 'listed');
  t.equal(await allowed('https://spa.test', 'spa-listed'), false, 'a list without + leaves the redirect origin out');
  t.equal(await allowed('https://spa.test', 'spa-plus'), true, '+ is the redirect origin');
  t.equal(await allowed('https://other.test', 'spa-plus'), true);
  t.equal(await allowed('https://spa.test', 'spa-none'), false, 'an empty list: no origin');
  t.equal(await allowed('https://evil.test', 'spa-plus'), false);
  const refused = await tokenEndpointFrom('https://evil.test', 'spa-plus');
  t.equal(refused.status, 400);
  t.equal((await refused.json() as Record<string, string>)['error'], 'invalid_request');
});
