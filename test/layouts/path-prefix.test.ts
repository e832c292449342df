import { fileURLToPath } from 'node:url';
import t from 'tap';
import { loadDeclarativeFile, readEnv } from '../../src/config/index.ts';
import { realmList } from '../../src/oidc/realm-list.ts';
import { startLatchkey } from '../helpers/latchkey-under-test.ts';
import { parseSetup } from '../helpers/setups.ts';
import { postForm } from '../helpers/token-requests.ts';

// Issue 11: the deployment's prefix for Keycloak-layout realms (IFS Cloud's /auth),
// LATCHKEY_KEYCLOAK_PATH_PREFIX, for realms that give none: a realm imported from
// a Keycloak export has no setup file to give one in.
const FIXTURE = fileURLToPath(new URL('../fixtures/keycloak/realm-export.json', import.meta.url));

t.test('LATCHKEY_KEYCLOAK_PATH_PREFIX: checked once, applied to Keycloak realms without their own', async (t) => {
  for (const bad of ['auth', '/', '/auth/', '/a b', '/../x', '/a/b/c/d/e']) {
    t.throws(() => readEnv({ LATCHKEY_KEYCLOAK_PATH_PREFIX: bad }), /LATCHKEY_KEYCLOAK_PATH_PREFIX/, JSON.stringify(bad));
  }
  const settings = readEnv({ LATCHKEY_KEYCLOAK_PATH_PREFIX: '/auth', LATCHKEY_ISSUER: 'https://idp.example.com' });
  const setup = parseSetup({
    realms: [
      { name: 'ifs', layout: 'keycloak' },
      { name: 'own', layout: { type: 'keycloak', path_prefix: '/sso' } },
      { name: 'plain' },
      { name: 'okta', layout: 'okta' },
    ],
  });
  t.same(Object.fromEntries(realmList({ ...settings, setup }).map((realm) => [realm.name, realm.issuer])), {
    default: 'https://idp.example.com',
    ifs: 'https://idp.example.com/auth/realms/ifs',
    own: 'https://idp.example.com/sso/realms/own',
    plain: 'https://idp.example.com/realms/plain',
    okta: 'https://idp.example.com/oauth2/okta',
  });
});

t.test('a Keycloak export served under /auth, as IFS Cloud\'s realms are', async (t) => {
  const setup = await loadDeclarativeFile(FIXTURE, { env: {}, nodeEnv: 'test', keycloakPathPrefix: '/auth' });
  const { issuer } = await startLatchkey(t, { setup, logLevel: 'silent', env: { LATCHKEY_KEYCLOAK_PATH_PREFIX: '/auth' } });
  const discovery = await fetch(`${issuer}/auth/realms/acme-corp/.well-known/openid-configuration`);
  t.equal(discovery.status, 200);
  const metadata = await discovery.json() as Record<string, string>;
  t.equal(metadata['token_endpoint'], `${issuer}/auth/realms/acme-corp/protocol/openid-connect/token`);
  const granted = await postForm(metadata['token_endpoint']!, { grant_type: 'client_credentials' }, { basic: ['orders-api', 'orders-api-secret-from-keycloak'] });
  t.equal(granted.status, 200, granted.text);
  t.equal((await fetch(`${issuer}/realms/acme-corp/.well-known/openid-configuration`)).status, 404, 'only under the prefix');
});

t.test('the setup file\'s path_prefix follows the same rule', async (t) => {
  for (const bad of ['auth', '/auth/', '/..', '/./x', '/a b']) {
    t.throws(() => parseSetup({ realms: [{ name: 'x', layout: { type: 'keycloak', path_prefix: bad } }] }), /realms\[0\]\.layout/, JSON.stringify(bad));
  }
  t.doesNotThrow(() => parseSetup({ realms: [{ name: 'x', layout: { type: 'keycloak', path_prefix: '/auth/..x' } }] }), 'dots inside a segment are fine');
});
