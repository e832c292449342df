import t from 'tap';
import { assertOneLineError, cliSandbox } from './cli-sandbox.ts';

// The CLI as a real process (`bin/latchkey.js`), for what the in-process runs
// of the other files cannot show: the exit status the shell sees (0 done,
// 1 failed, 2 wrong command line, set by src/cli/main.ts's process.exit) and
// a stdin that is a pipe rather than a stream made in the test (what is done
// with the password read is tested in process, users.test.ts). `serve` and
// its signals are in serve.test.ts, the lock between processes in
// embedded-lock.test.ts.
// Nothing here reaches a database.
const sandbox = await cliSandbox(t, { embedded: true });

t.test('process: exit statuses 0, 1 and 2 reach the shell', async (t) => {
  // Independent processes that touch no database: run side by side.
  const [help, failed, usage] = await Promise.all([
    sandbox.spawn(['--help']),
    sandbox.spawn(['keys', 'list']),
    sandbox.spawn(['frobnicate']),
  ]);
  t.equal(help.status, 0, '--help exits 0');
  t.match(help.stdout, /^Usage: latchkey <command>/, 'and prints the usage on stdout');
  t.equal(help.stderr, '');
  t.equal(failed.status, 1, 'a runtime failure (no signing key yet) exits 1');
  assertOneLineError(t, failed, /no signing key/);
  t.equal(usage.status, 2, 'a wrong command line exits 2');
  assertOneLineError(t, usage, /unknown command "frobnicate"/);
  t.equal(usage.stdout, '');
});

t.test('process: a pipe on stdin is read to its end, in chunks, without one trailing newline', async (t) => {
  // Refused before any database is opened, so these show the reading alone:
  // an empty line is an empty password (one newline removed, end of the pipe
  // reached), and more than a password's worth arrives in several chunks
  // and is refused without being echoed.
  const long = 'p'.repeat(70 * 1024);
  const [empty, tooLong] = await Promise.all([
    sandbox.spawn(['users', 'add', 'piped', '--password-stdin'], { stdin: '\n' }),
    sandbox.spawn(['users', 'add', 'piped', '--password-stdin'], { stdin: long }),
  ]);
  t.equal(empty.status, 1, 'an empty line: exit 1');
  assertOneLineError(t, empty, /the password is empty; nothing changed/);
  t.equal(tooLong.status, 1, 'more than 64 KiB: exit 1');
  assertOneLineError(t, tooLong, /stdin holds more than 64 KiB/);
  t.notOk(tooLong.stderr.includes('pppppppppp'), 'the input is not echoed');
});

t.test('process: a pipe is not a terminal, so users add without --password-stdin refuses (2)', async (t) => {
  const result = await sandbox.spawn(['users', 'add', 'bob'], { stdin: 'typed-but-not-asked-for\n' });
  t.equal(result.status, 2);
  assertOneLineError(t, result, /--password-stdin/);
  t.notMatch(result.stderr, /typed-but-not-asked-for/);
});
