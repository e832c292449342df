import t from 'tap';
import { parseDeclarativeSetup, registrationPolicyOf } from '../../src/config/index.ts';
import { realmList } from '../../src/oidc/realm-list.ts';

// A realm's `registration` setting: validated with the rest of the setup
// file (a bad value names its field), off unless enabled, with defaults a
// production IdP can live with.
const parse = (registration: unknown) => parseDeclarativeSetup({ realms: [{ name: 'acme', registration }] }, { env: {}, nodeEnv: 'test' });

t.test('off unless enabled; the defaults', async (t) => {
  t.equal(registrationPolicyOf(undefined), undefined);
  t.equal(registrationPolicyOf({ enabled: false, grant_types: ['client_credentials'] }), undefined);
  t.same(registrationPolicyOf(parse({ enabled: true }).realms[0]!.registration), {
    management: true,
    grantTypes: ['authorization_code', 'refresh_token'],
    authMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    scopes: ['openid', 'profile', 'email', 'offline_access'],
    allowJwksUri: false,
  });
  const config = { issuer: 'https://id.example.com', setup: parse({ enabled: true, management: false }) } as Parameters<typeof realmList>[0];
  const [defaultRealm, acme] = realmList(config);
  t.equal(defaultRealm!.registration, undefined, 'an undeclared default realm has none');
  t.equal(acme!.registration?.management, false, 'the served realm carries its policy');
});

t.test('what the file may not say, each naming its field', async (t) => {
  const cases: [unknown, RegExp][] = [
    [{}, /realms\[0\]\.registration\.enabled/],
    [{ enabled: 'yes' }, /realms\[0\]\.registration\.enabled/],
    [{ enabled: true, grant_types: ['password'] }, /realms\[0\]\.registration\.grant_types\[0\]/],
    [{ enabled: true, grant_types: [] }, /realms\[0\]\.registration\.grant_types/],
    [{ enabled: true, token_endpoint_auth_methods: ['client_secret_jwt'] }, /realms\[0\]\.registration\.token_endpoint_auth_methods\[0\]/],
    [{ enabled: true, scopes: ['has space'] }, /realms\[0\]\.registration\.scopes\[0\]/],
    [{ enabled: true, open_to_all: true }, /realms\[0\]\.registration/],
  ];
  for (const [registration, field] of cases) t.throws(() => parse(registration), { name: 'ConfigError', message: field }, JSON.stringify(registration));
});
