import t from 'tap';
import { assertOneLineError, cliSandbox } from './cli-sandbox.ts';

// Runtime failures: exit 1, one line, no stack trace, no credentials.
const sandbox = await cliSandbox(t, { embedded: true });

t.test('an unreachable database: exit 1 with one line, promptly, without the password', async (t) => {
  const env = { DATABASE_URL: 'postgres://postgres:unreachable-db-password@127.0.0.1:1/x' };
  for (const args of [['users', 'list'], ['migrate', 'status'], ['clients', 'add', 'svc', '--grant', 'client_credentials']]) {
    // The deadline is not a timing claim: a CLI that hangs on a dead database is the failure.
    const result = await sandbox.run(args, { env, deadlineMs: 20_000 });
    t.equal(result.status, 1, `${args.join(' ')} exits 1 (null = still running at the deadline)`);
    assertOneLineError(t, result, /database unavailable|ECONNREFUSED/);
    t.notMatch(result.stderr, /unreachable-db-password/, 'the password is not shown');
    t.notMatch(result.stdout, /client_secret/, 'no secret printed for a client that was not stored');
  }
});

t.test('LOG_LEVEL=debug adds the stack trace', async (t) => {
  const result = await sandbox.run(['users', 'list'], { env: { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/x', LOG_LEVEL: 'debug' }, deadlineMs: 20_000 });
  t.equal(result.status, 1);
  t.match(result.stderr, /^latchkey: /);
  t.match(result.stderr, /^\s+at /m, 'stack trace shown');
});

t.test('runs in one process are independent: LOG_LEVEL=debug of one does not add a stack to another', async (t) => {
  // Side by side, as the in-process runs of this suite can be: what a run
  // learns from its configuration must stay with that run.
  const unreachable = 'postgres://postgres@127.0.0.1:1/x';
  const [debug, plain] = await Promise.all([
    sandbox.run(['users', 'list'], { env: { DATABASE_URL: unreachable, LOG_LEVEL: 'debug' }, deadlineMs: 20_000 }),
    sandbox.run(['users', 'list'], { env: { DATABASE_URL: unreachable }, deadlineMs: 20_000 }),
  ]);
  t.equal(debug.status, 1);
  t.match(debug.stderr, /^\s+at /m, 'the debug run shows its stack');
  t.equal(plain.status, 1);
  assertOneLineError(t, plain, /database unavailable|ECONNREFUSED/);
  const after = await sandbox.run(['users', 'list'], { env: { DATABASE_URL: unreachable }, deadlineMs: 20_000 });
  assertOneLineError(t, after, /database unavailable|ECONNREFUSED/);
});

t.test('import of a missing file: exit 1, one line naming it', async (t) => {
  const result = await sandbox.run(['import', `${sandbox.dir}/no-such-file.yaml`]);
  t.equal(result.status, 1);
  assertOneLineError(t, result, /no-such-file\.yaml/);
});

t.test('an unknown user or client: exit 1', async (t) => {
  const user = await sandbox.run(['users', 'remove', 'ghost']);
  t.equal(user.status, 1);
  assertOneLineError(t, user, /no user ghost in realm default/);
  const client = await sandbox.run(['clients', 'remove', 'ghost']);
  t.equal(client.status, 1);
  assertOneLineError(t, client, /no client ghost in realm default/);
});
