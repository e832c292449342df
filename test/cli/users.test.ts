import t, { type Test } from 'tap';
import { assertOneLineError, cliSandbox, migrateSandbox, startServerOn, type CliSandbox } from './cli-sandbox.ts';

// users add / list / passwd / remove; whether a password signs in is asked of
// AccountService on a real server over the same database.
const sandbox = await cliSandbox(t);
await migrateSandbox(sandbox);

const FIRST = 'first-password-for-cli-tests';
const SECOND = 'second-password-for-cli-tests';

/** For each [login, password]: does it sign in? One server for all of them. */
async function signIns(t: Test, sandbox: CliSandbox, attempts: Array<[string, string]>): Promise<boolean[]> {
  const server = await startServerOn(t, sandbox);
  try {
    const results: boolean[] = [];
    for (const [login, password] of attempts) results.push(Boolean(await server.services.accounts.authenticate('default', login, password)));
    return results;
  } finally {
    await server.close();
  }
}

t.test('add reads the password from stdin, without its trailing newline', async (t) => {
  const result = await sandbox.run(['users', 'add', 'jane', '--email', 'jane@example.test', '--name', 'Jane Doe', '--password-stdin'], { stdin: `${FIRST}\n` });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stdout, /Created user jane in realm default/);
  t.notMatch(result.stdout + result.stderr, new RegExp(FIRST), 'the password is not echoed');
  const [withPassword, withNewline] = await signIns(t, sandbox, [['jane', FIRST], ['jane', `${FIRST}\n`]]);
  t.ok(withPassword, 'jane signs in with the password');
  t.notOk(withNewline, 'the newline was not part of it');
});

t.test('list shows the user, never the hash', async (t) => {
  const json = await sandbox.run(['users', 'list', '--json']);
  t.equal(json.status, 0, json.stderr);
  const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.equal(listed.length, 1);
  t.match(listed[0], { username: 'jane', email: 'jane@example.test', email_verified: false, disabled: false, claims: { name: 'Jane Doe' } });
  t.notOk('password_hash' in listed[0]!, 'no password_hash field');
  const text = await sandbox.run(['users', 'list']);
  t.equal(text.status, 0, text.stderr);
  t.match(text.stdout, /^jane\s+jane@example\.test \(unverified\)\s+active$/m);
  for (const output of [json.stdout, text.stdout]) t.notMatch(output, /\$argon2id\$/, 'no hash in the output');
});

t.test('a duplicate username is refused (1)', async (t) => {
  const result = await sandbox.run(['users', 'add', 'JANE', '--password-stdin'], { stdin: 'another-password' });
  t.equal(result.status, 1);
  assertOneLineError(t, result, /already exists/);
});

t.test('an empty password is refused', async (t) => {
  const result = await sandbox.run(['users', 'add', 'empty', '--password-stdin'], { stdin: '\n' });
  t.not(result.status, 0);
  assertOneLineError(t, result, /password is empty/);
  const listed = JSON.parse((await sandbox.run(['users', 'list', '--json'])).stdout) as Array<{ username: string }>;
  t.notOk(listed.some((u) => u.username === 'empty'), 'no user created');
});

t.test('passwd replaces the password', async (t) => {
  const result = await sandbox.run(['users', 'passwd', 'jane', '--password-stdin'], { stdin: `${SECOND}\r\n` });
  t.equal(result.status, 0, result.stderr);
  const [second, first] = await signIns(t, sandbox, [['jane', SECOND], ['jane', FIRST]]);
  t.ok(second, 'the new password works');
  t.notOk(first, 'the old one does not');
});

t.test('passwd of an unknown user fails (1) and says so', async (t) => {
  const result = await sandbox.run(['users', 'passwd', 'nobody', '--password-stdin'], { stdin: SECOND });
  t.equal(result.status, 1);
  assertOneLineError(t, result, /no user nobody in realm default/);
  t.notMatch(result.stderr, new RegExp(SECOND));
});

t.test('passwd without --password-stdin and without a terminal is a usage error', async (t) => {
  const result = await sandbox.run(['users', 'passwd', 'jane'], { stdin: `${FIRST}\n` });
  t.equal(result.status, 2);
  t.same(await signIns(t, sandbox, [['jane', SECOND]]), [true], 'the password did not change');
});

t.test('users live in their realm', async (t) => {
  const added = await sandbox.run(['users', 'add', 'jane', '--realm', 'partners', '--password-stdin'], { stdin: FIRST });
  t.equal(added.status, 0, added.stderr);
  const partners = JSON.parse((await sandbox.run(['users', 'list', '--realm', 'partners', '--json'])).stdout) as Array<{ username: string }>;
  t.same(partners.map((u) => u.username), ['jane']);
});

t.test('remove deletes the user; removing again fails (1)', async (t) => {
  const removed = await sandbox.run(['users', 'remove', 'jane']);
  t.equal(removed.status, 0, removed.stderr);
  t.same(await signIns(t, sandbox, [['jane', SECOND]]), [false], 'jane can no longer sign in');
  const listed = JSON.parse((await sandbox.run(['users', 'list', '--json'])).stdout) as unknown[];
  t.same(listed, [], 'no users left in the default realm');
  const partners = JSON.parse((await sandbox.run(['users', 'list', '--realm', 'partners', '--json'])).stdout) as Array<{ username: string }>;
  t.same(partners.map((u) => u.username), ['jane'], 'the other realm\'s jane is untouched');

  const again = await sandbox.run(['users', 'remove', 'jane']);
  t.equal(again.status, 1);
  assertOneLineError(t, again, /no user jane in realm default/);
});

t.test('roles and groups: add sets them, set-roles replaces one list or both, bad names are usage errors (2)', async (t) => {
  const added = await sandbox.run(['users', 'add', 'rita', '--role', 'orders-admin', '--role', 'viewer', '--group', 'Finance Team', '--password-stdin'], { stdin: FIRST });
  t.equal(added.status, 0, added.stderr);
  const rita = async () => (JSON.parse((await sandbox.run(['users', 'list', '--json'])).stdout) as Array<{ username: string; roles: string[]; groups: string[] }>)
    .find((u) => u.username === 'rita')!;
  t.match(await rita(), { roles: ['orders-admin', 'viewer'], groups: ['Finance Team'] });

  const roles = await sandbox.run(['users', 'set-roles', 'rita', '--role', 'viewer']);
  t.equal(roles.status, 0, roles.stderr);
  t.match(roles.stdout, /roles: viewer\. Tokens issued from now on carry them/);
  t.match(await rita(), { roles: ['viewer'], groups: ['Finance Team'] }, 'groups kept');
  const cleared = await sandbox.run(['users', 'set-roles', 'rita', '--no-groups']);
  t.equal(cleared.status, 0, cleared.stderr);
  t.match(await rita(), { roles: ['viewer'], groups: [] });

  for (const [args, pattern] of [
    [['users', 'set-roles', 'rita'], /nothing to set/],
    [['users', 'set-roles', 'rita', '--role', 'a', '--role', 'a'], /--role\[1\]: listed twice/],
    [['users', 'set-roles', 'rita', '--role', ''], /--role needs a non-empty value/],
    [['users', 'set-roles', 'rita', '--role', ' padded'], /--role\[0\]: must not start or end with spaces/],
    [['users', 'set-roles', 'rita', '--no-roles', '--role', 'a'], /one or the other/],
    [['users', 'add', 'bad', '--role', 'tab\there', '--password-stdin'], /control characters/],
  ] as const) {
    const result = await sandbox.run([...args], { stdin: FIRST });
    t.equal(result.status, 2, args.join(' '));
    assertOneLineError(t, result, pattern);
  }
  const unknown = await sandbox.run(['users', 'set-roles', 'nobody', '--role', 'x']);
  t.equal(unknown.status, 1);
  assertOneLineError(t, unknown, /no user nobody/);
  t.match(await rita(), { roles: ['viewer'] }, 'refusals changed nothing');
  t.equal((await sandbox.run(['users', 'remove', 'rita'])).status, 0);
});
