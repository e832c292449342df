import { stat, writeFile } from 'node:fs/promises';
import t from 'tap';
import { cliSandbox, migrateSandbox, type CliResult } from './cli-sandbox.ts';

// `latchkey keys list|generate|rotate`: clear errors and exit codes (the
// rotation itself is tested end to end in test/keys/restart-and-rotation.test.ts).
const sandbox = await cliSandbox(t, { embedded: true });

t.test('list before any key exists: exit 1, says how to get keys', async (t) => {
  const result = await sandbox.run(['keys', 'list']);
  t.equal(result.status, 1);
  t.match(result.stderr, /^latchkey: .*no signing key/);
});

t.test('generate adds a key file (0600) for an algorithm without one; the defaults come with it', async (t) => {
  const result = await sandbox.run(['keys', 'generate', '--alg', 'EdDSA']);
  t.equal(result.status, 0, result.stderr);
  const file = /Generated (\S+) \(EdDSA/.exec(result.stdout)?.[1];
  t.ok(file, 'names the file');
  t.equal((await stat(file!)).mode & 0o777, 0o600, 'mode 0600');
  const list = await sandbox.run(['keys', 'list']);
  t.equal(list.status, 0);
  t.match(list.stdout, /EdDSA\s+active/);
  t.match(list.stdout, /RS256\/PS256\s+active/, 'RS256 is always there for ID tokens');
  t.notMatch(list.stdout, /PRIVATE KEY/);
});

t.test('generate for an algorithm that already signs points to rotate', async (t) => {
  const result = await sandbox.run(['keys', 'generate', '--alg', 'ES256']);
  t.equal(result.status, 1);
  t.match(result.stderr, /already has a signing key; use `latchkey keys rotate --alg ES256`/);
});

t.test('wrong command lines exit 2', async (t) => {
  for (const args of [['keys', 'generate'], ['keys', 'generate', '--alg', 'HS256'], ['keys', 'rotate', '--delay', 'soon'], ['keys', 'spin']]) {
    const result = await sandbox.run(args);
    t.equal(result.status, 2, args.join(' '));
    t.match(result.stderr, /^latchkey: /);
  }
});

t.test('rotate twice before the first is active is refused', async (t) => {
  t.equal((await sandbox.run(['keys', 'rotate', '--alg', 'ES256'])).status, 0);
  const again = await sandbox.run(['keys', 'rotate', '--alg', 'ES256']);
  t.equal(again.status, 1);
  t.match(again.stderr, /already staged/);
  const list = await sandbox.run(['keys', 'list', '--json']);
  t.equal((JSON.parse(list.stdout) as { status: string }[]).filter((k) => k.status === 'next').length, 1, 'one staged key');
});

/** From what `keys rotate` printed: seconds from the new key's activation to the old key's unpublishing. */
function overlapSeconds(result: CliResult, alg: string): number | undefined {
  const schedule = new RegExp(`${alg}: \\S+ is published now and signs from (\\S+); \\S+ retires then and is unpublished at (\\S+)\\.`).exec(result.stdout);
  return schedule ? (Date.parse(schedule[2]!) - Date.parse(schedule[1]!)) / 1000 : undefined;
}

// On the database DATABASE_URL names, if any. With the default key check
// (60 s) and JWKS max-age (300 s), the overlap is 60 + the longest lifetime + 300.
const lifetimes = (accessToken: number) => `realms:\n  - name: default\n    ttl: { id_token: 600, access_token: ${accessToken}, client_credentials: 60 }\n`;

t.test('the old key stays published until a resource server\'s longer-lived JWT access tokens expired', async (t) => {
  const server = await cliSandbox(t);
  await migrateSandbox(server);
  await writeFile(server.configFile, lifetimes(60));

  const short = await server.run(['resource-servers', 'add', 'https://short.example.com', '--scope', 'short:read', '--lifetime', '30']);
  t.equal(short.status, 0, short.stderr);
  const first = await server.run(['keys', 'rotate', '--alg', 'RS256']);
  t.equal(first.status, 0, first.stderr);
  t.equal(overlapSeconds(first, 'RS256'), 60 + 600 + 300, 'access tokens shorter than the ID token change nothing');

  // Added at run time, so only in the database.
  const long = await server.run(['resource-servers', 'add', 'https://orders.example.com', '--scope', 'orders:read', '--lifetime', '7200']);
  t.equal(long.status, 0, long.stderr);
  const second = await server.run(['keys', 'rotate', '--alg', 'ES256']);
  t.equal(second.status, 0, second.stderr);
  t.equal(overlapSeconds(second, 'ES256'), 60 + 7200 + 300, 'a resource server\'s longer access-token lifetime pushes the unpublishing out');
});

t.test('the old key stays published until the realm\'s longer-lived access tokens expired', async (t) => {
  const server = await cliSandbox(t);
  await migrateSandbox(server);
  await writeFile(server.configFile, lifetimes(9000));
  const rotated = await server.run(['keys', 'rotate', '--alg', 'RS256']);
  t.equal(rotated.status, 0, rotated.stderr);
  t.equal(overlapSeconds(rotated, 'RS256'), 60 + 9000 + 300);
});
