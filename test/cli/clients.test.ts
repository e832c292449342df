import t from 'tap';
import { tokenRequest } from '../helpers/token-requests.ts';
import { assertOneLineError, cliSandbox, migrateSandbox, startServerOn } from './cli-sandbox.ts';

// clients add / list / remove, and a token for the secret that add printed,
// from a real server on the same database and keys directory.
const sandbox = await cliSandbox(t);
await migrateSandbox(sandbox);

let secret = '';

t.test('add prints a generated secret once, with a warning', async (t) => {
  const result = await sandbox.run(['clients', 'add', 'billing', '--name', 'Billing', '--grant', 'client_credentials', '--scope', 'api:read api:write']);
  t.equal(result.status, 0, result.stderr);
  const secrets = [...result.stdout.matchAll(/client_secret: (\S+)/g)].map((m) => m[1]!);
  t.equal(secrets.length, 1, 'the secret is printed exactly once');
  secret = secrets[0] ?? '';
  t.ok(secret.length >= 43, 'at least 256 bits, base64url');
  t.match(result.stderr, /cannot be shown again/, 'warns that it will not be shown again');
  t.notMatch(result.stderr, new RegExp(secret), 'not repeated on stderr');
});

t.test('list never shows the secret or its hash', async (t) => {
  const json = await sandbox.run(['clients', 'list', '--json']);
  t.equal(json.status, 0, json.stderr);
  const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.same(listed.map((c) => c.client_id), ['billing']);
  t.match(listed[0], {
    client_id: 'billing',
    client_name: 'Billing',
    grant_types: ['client_credentials'],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: 'api:read api:write',
    secret_storage: 'hmac-sha256',
  });
  t.notOk('client_secret' in listed[0]!, 'no client_secret field');
  t.notOk('secret_hash' in listed[0]!, 'no secret_hash field');
  const text = await sandbox.run(['clients', 'list']);
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /^billing\s+client_secret_basic\s+client_credentials\s+hmac-sha256$/m);
  for (const output of [json.stdout, text.stdout]) {
    t.notOk(output.includes(secret), 'the secret is not listed');
    t.notMatch(output, /\$hmac-sha256\$|\$argon2id\$/, 'no stored hash is listed');
  }
});

t.test('adding an existing id is refused (1) and prints no new secret', async (t) => {
  const again = await sandbox.run(['clients', 'add', 'billing', '--grant', 'client_credentials']);
  t.equal(again.status, 1);
  assertOneLineError(t, again, /billing already exists/);
  t.notMatch(again.stdout, /client_secret/, 'no new secret printed');
});

t.test('the printed secret obtains a client_credentials token from a real server', async (t) => {
  const server = await startServerOn(t, sandbox);
  try {
    const granted = await tokenRequest(server.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['billing', secret] });
    t.equal(granted.status, 200, `token issued (${granted.json?.['error'] ?? granted.status})`);
    t.equal(granted.json?.['token_type'], 'Bearer');
    t.equal(granted.json?.['scope'], 'api:read');
    const wrong = await tokenRequest(server.issuer, { grant_type: 'client_credentials' }, { basic: ['billing', `${secret}x`] });
    t.equal(wrong.status, 401, 'a different secret is refused');
  } finally {
    await server.close();
  }
});

t.test('public, native and other-realm clients', async (t) => {
  const spa = await sandbox.run(['clients', 'add', 'spa', '--auth-method', 'none', '--redirect-uri', 'https://spa.example.com/cb', '--scope', 'openid profile']);
  t.equal(spa.status, 0, spa.stderr);
  t.notMatch(spa.stdout, /client_secret/, 'a public client gets no secret');
  const desktop = await sandbox.run(['clients', 'add', 'desktop', '--native', '--redirect-uri', 'http://127.0.0.1/cb']);
  t.equal(desktop.status, 0, `a native client may use a loopback redirect: ${desktop.stderr}`);
  const gateway = await sandbox.run(['clients', 'add', 'gateway', '--realm', 'partners', '--grant', 'client_credentials', '--permission', 'introspection', '--role', 'gateway']);
  t.equal(gateway.status, 0, gateway.stderr);
  t.match(gateway.stdout, /client_secret: \S+/);

  const listed = JSON.parse((await sandbox.run(['clients', 'list', '--json'])).stdout) as Array<Record<string, unknown>>;
  t.same(listed.map((c) => c.client_id), ['billing', 'desktop', 'spa'], 'the default realm, sorted');
  t.match(listed.find((c) => c.client_id === 'spa'), {
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: ['https://spa.example.com/cb'],
    scope: 'openid profile',
    secret_storage: null,
  });
  t.match(listed.find((c) => c.client_id === 'desktop'), { application_type: 'native', token_endpoint_auth_method: 'none', secret_storage: null });
  const partners = JSON.parse((await sandbox.run(['clients', 'list', '--realm', 'partners', '--json'])).stdout) as Array<Record<string, unknown>>;
  t.same(partners.map((c) => c.client_id), ['gateway'], 'the other realm has its own clients');
  t.same(partners[0]?.permissions, ['introspection']);
  t.same(partners[0]?.roles, ['gateway'], 'its own roles, for client credentials');
});

t.test('rotate-secret prints a new secret once; both work during the overlap; disable and enable', async (t) => {
  const rotated = await sandbox.run(['clients', 'rotate-secret', 'billing', '--overlap', '3600']);
  t.equal(rotated.status, 0, rotated.stderr);
  const printed = [...rotated.stdout.matchAll(/client_secret: (\S+)/g)].map((m) => m[1]!);
  t.equal(printed.length, 1, 'printed once');
  t.not(printed[0], secret);
  t.equal((await sandbox.run(['clients', 'rotate-secret', 'billing', '--overlap', 'soon'])).status, 2, 'a usage error');
  t.equal((await sandbox.run(['clients', 'rotate-secret', 'nobody'])).status, 1, 'an unknown client');

  t.equal((await sandbox.run(['clients', 'disable', 'billing'])).status, 0);
  const server = await startServerOn(t, sandbox);
  try {
    const works = async (value: string) =>
      (await tokenRequest(server.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['billing', value] })).status === 200;
    t.notOk(await works(printed[0]!), 'disabled: refused');
  } finally {
    await server.close();
  }
  // After the server stops: the embedded database is one process's at a time.
  t.equal((await sandbox.run(['clients', 'enable', 'billing'])).status, 0);
  const again = await startServerOn(t, sandbox);
  try {
    const works = async (value: string) =>
      (await tokenRequest(again.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['billing', value] })).status === 200;
    t.ok(await works(printed[0]!), 'enabled: the new secret works');
    t.ok(await works(secret), 'and the old one, during the overlap');
  } finally {
    await again.close();
  }
});

t.test('remove deletes the client; its secret stops working; removing it again is 1', async (t) => {
  const removed = await sandbox.run(['clients', 'remove', 'billing']);
  t.equal(removed.status, 0, removed.stderr);
  const listed = JSON.parse((await sandbox.run(['clients', 'list', '--json'])).stdout) as Array<Record<string, unknown>>;
  t.notOk(listed.some((c) => c.client_id === 'billing'), 'gone from the list');

  const server = await startServerOn(t, sandbox);
  try {
    const refused = await tokenRequest(server.issuer, { grant_type: 'client_credentials' }, { basic: ['billing', secret] });
    t.equal(refused.status, 401, 'the removed client cannot obtain tokens');
  } finally {
    await server.close();
  }

  const again = await sandbox.run(['clients', 'remove', 'billing']);
  t.equal(again.status, 1);
  assertOneLineError(t, again, /no client billing in realm default/);
});

t.test('branding flags are checked with the renderer\'s rules, naming the field as the file does', async (t) => {
  const bad = await sandbox.run(['clients', 'add', 'branded-bad', '--redirect-uri', 'https://b.example.test/cb', '--background-uri', 'https://x/a.png);}</style>']);
  t.equal(bad.status, 2);
  t.match(bad.stderr, /^latchkey: background_uri: .*parentheses/);
  const color = await sandbox.run(['clients', 'add', 'branded-bad', '--redirect-uri', 'https://b.example.test/cb', '--primary-color', 'red']);
  t.equal(color.status, 2);
  t.match(color.stderr, /^latchkey: primary_color: must be a colour/);
  const good = await sandbox.run(['clients', 'add', 'branded-good', '--name', 'Branded', '--redirect-uri', 'https://b.example.test/cb', '--logo-uri', 'https://cdn.example.test/logo.png', '--primary-color', '#123abc']);
  t.equal(good.status, 0, good.stderr);
  const list = JSON.parse((await sandbox.run(['clients', 'list', '--json'])).stdout) as Record<string, unknown>[];
  t.match(list.find((c) => c['client_id'] === 'branded-good'), { logo_uri: 'https://cdn.example.test/logo.png', primary_color: '#123abc', client_name: 'Branded' });
});

t.test('NODE_ENV=production: an http://localhost redirect is refused (2), with the file\'s message', async (t) => {
  const refused = await sandbox.run(['clients', 'add', 'local-web', '--redirect-uri', 'http://localhost:8080/callback'], { env: { NODE_ENV: 'production' } });
  t.equal(refused.status, 2);
  assertOneLineError(t, refused, /^latchkey: redirect_uris\[0\]: must use https in production \(http:\/\/localhost is for development\)$/);
  t.notMatch(refused.stdout, /client_secret/, 'no secret printed');
});
