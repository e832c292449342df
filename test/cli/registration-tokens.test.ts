import { writeFile } from 'node:fs/promises';
import t from 'tap';
import { parseSetup } from '../helpers/setups.ts';
import { assertOneLineError, cliSandbox, migrateSandbox, startServerOn } from './cli-sandbox.ts';

// `latchkey registration-tokens`: the initial access tokens of dynamic
// client registration, through the service the admin API uses; a token the
// CLI issued registers a client at a running server.
const sandbox = await cliSandbox(t);
await writeFile(sandbox.configFile, 'realms:\n  - name: acme\n    registration:\n      enabled: true\n');
await migrateSandbox(sandbox);

t.test('issue, list and revoke; the value is printed once and never listed', async (t) => {
  const issued = await sandbox.run(['registration-tokens', 'issue', '--realm', 'acme', '--expires-in', '3600', '--uses', '2', '--description', 'ci pipeline']);
  t.equal(issued.status, 0, issued.stderr);
  const value = issued.stdout.trim();
  t.match(value, /^[A-Za-z0-9_-]{43}$/, 'the token alone on stdout, for $(…)');
  const id = /initial access token (\S+) for realm acme: 2 registration\(s\)/.exec(issued.stderr)?.[1];
  t.ok(id, 'what it is, on stderr');

  const listed = await sandbox.run(['registration-tokens', 'list', '--realm', 'acme', '--json']);
  t.equal(listed.status, 0, listed.stderr);
  const [token] = JSON.parse(listed.stdout) as Record<string, unknown>[];
  t.match(token, { id, uses_allowed: 2, uses_left: 2, description: 'ci pipeline' });
  t.notOk(listed.stdout.includes(value), 'the value is not listed');
  t.notOk('value_digest' in token!, 'nor its digest');
  t.match((await sandbox.run(['registration-tokens', 'list', '--realm', 'acme'])).stdout, new RegExp(`${id}\\s+2/2`));

  t.equal((await sandbox.run(['registration-tokens', 'revoke', id!, '--realm', 'acme'])).status, 0);
  assertOneLineError(t, await sandbox.run(['registration-tokens', 'revoke', id!, '--realm', 'acme']), /no initial access token/);
  t.match((await sandbox.run(['registration-tokens', 'list', '--realm', 'acme'])).stdout, /No initial access tokens in realm acme/);
});

t.test('refusals: a realm without registration, counts and lifetimes out of range, bad flags', async (t) => {
  const off = await sandbox.run(['registration-tokens', 'issue']);
  t.equal(off.status, 1);
  assertOneLineError(t, off, /realm default does not accept client registrations: set registration\.enabled/);
  for (const [args, message] of [
    [['--uses', '0'], /uses: must be a whole number from 1 to 1000/],
    [['--uses', '1001'], /uses: must be a whole number from 1 to 1000/],
    [['--expires-in', '10'], /expires_in: must be a whole number of seconds from 60/],
    [['--expires-in', '99999999'], /expires_in/],
  ] as const) {
    const result = await sandbox.run(['registration-tokens', 'issue', '--realm', 'acme', ...args]);
    t.equal(result.status, 1, args.join(' '));
    assertOneLineError(t, result, message);
  }
  const usage = await sandbox.run(['registration-tokens', 'issue', '--realm', 'acme', '--uses', 'many']);
  t.equal(usage.status, 2, 'a value that is no number is a usage error');
  t.match(usage.stderr, /--uses: a whole number/);
  t.equal((await sandbox.run(['registration-tokens', 'list', '--realm', 'acme', '--json'])).stdout.trim(), '[]', 'nothing was issued');
});

t.test('a token the CLI issued registers a client at the server, once', async (t) => {
  const issued = await sandbox.run(['registration-tokens', 'issue', '--realm', 'acme']);
  t.equal(issued.status, 0, issued.stderr);
  const value = issued.stdout.trim();
  const server = await startServerOn(t, sandbox, parseSetup({ realms: [{ name: 'acme', registration: { enabled: true } }] }));
  const register = () => fetch(`${server.issuer}/realms/acme/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${value}` },
    body: JSON.stringify({ redirect_uris: ['https://cli.test/cb'] }),
  });
  const first = await register();
  t.equal(first.status, 201, 'registered');
  const client = await first.json() as { client_id: string };
  t.ok(await server.services.clients.find('acme', client.client_id), 'an ordinary client of the realm');
  t.equal((await register()).status, 401, 'single-use by default');
  await server.close();
});
