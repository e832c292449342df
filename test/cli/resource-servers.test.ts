import t from 'tap';
import { cliSandbox, migrateSandbox } from './cli-sandbox.ts';

// `latchkey resource-servers`: the same rules as the setup file, refusals
// before the database is opened (exit 2), and clients that name one.
const sandbox = await cliSandbox(t);
await migrateSandbox(sandbox);

t.test('add, list and remove a resource server', async (t) => {
  const added = await sandbox.run(['resource-servers', 'add', 'https://orders.example.com', '--scope', 'orders:read orders:write', '--lifetime', '300']);
  t.equal(added.status, 0, added.stderr);
  t.match(added.stdout, /Created resource server https:\/\/orders\.example\.com in realm default \(JWT access tokens, ES256; scopes orders:read orders:write\)/);

  const again = await sandbox.run(['resource-servers', 'add', 'https://orders.example.com', '--scope', 'orders:read']);
  t.equal(again.status, 1, 'declaring it twice fails');
  t.match(again.stderr, /already exists/);

  const listed = await sandbox.run(['resource-servers', 'list', '--json']);
  t.equal(listed.status, 0);
  t.same(JSON.parse(listed.stdout), [{
    identifier: 'https://orders.example.com',
    scopes: ['orders:read', 'orders:write'],
    access_token: { format: 'jwt', lifetime: 300, algorithm: 'ES256' },
  }]);

  const client = await sandbox.run(['clients', 'add', 'orders-svc', '--grant', 'client_credentials', '--scope', 'orders:read', '--default-resource', 'https://orders.example.com']);
  t.equal(client.status, 0, client.stderr);

  const removed = await sandbox.run(['resource-servers', 'remove', 'https://orders.example.com']);
  t.equal(removed.status, 0);
  t.equal((await sandbox.run(['resource-servers', 'remove', 'https://orders.example.com'])).status, 1, 'removing again fails');
  t.match((await sandbox.run(['resource-servers', 'list'])).stdout, /No resource servers in realm default/);
});

t.test('what the rules refuse is a usage error naming the field, before any database is opened', async (t) => {
  const cases: [string[], RegExp][] = [
    [['https://api.example.com#frag', '--scope', 'a'], /identifier: must not contain a fragment/],
    [['not a uri', '--scope', 'a'], /identifier: must not contain spaces/],
    [['relative/path', '--scope', 'a'], /identifier: must be an absolute URI/],
    [['https://api.example.com', '--scope', 'openid'], /scopes: openid and offline_access belong to the realm/],
    [['https://api.example.com', '--scope', 'a', '--format', 'paseto'], /access_token\.format: must be one of jwt, opaque/],
    [['https://api.example.com', '--scope', 'a', '--algorithm', 'HS256'], /access_token\.algorithm: must be one of/],
    [['https://api.example.com', '--scope', 'a', '--lifetime', '0'], /access_token\.lifetime/],
    [['https://api.example.com', '--scope', 'a', '--lifetime', 'soon'], /--lifetime/],
  ];
  for (const [args, message] of cases) {
    const result = await sandbox.run(['resource-servers', 'add', ...args]);
    t.equal(result.status, 2, `${args.join(' ')}: exit 2`);
    t.match(result.stderr, message);
  }
  const client = await sandbox.run(['clients', 'add', 'x', '--grant', 'client_credentials', '--scope', 'a', '--default-resource', 'relative']);
  t.equal(client.status, 2, 'a client default_resource that is no absolute URI is refused too');
  t.match(client.stderr, /default_resource/);
});
