import { spawnSync } from 'node:child_process';
import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { EmbeddedDatabaseInUseError } from '../../src/errors/index.ts';
import { acquireEmbeddedLock, LOCK_FILE } from '../../src/store/embedded-lock.ts';
import { assertOneLineError, cliSandbox } from './cli-sandbox.ts';

// PGlite does not guard its directory: a second process opening it while the
// first has it open reads stale data, and concurrent writes corrupt it (the
// next open aborts). The CLI therefore takes a lock file beside it. The lock
// concerns the embedded database only, so this file always uses it. Where the
// point is two processes, the CLI runs as one (sandbox.spawn) while this
// process holds the lock; elsewhere it runs in this process.
const sandbox = await cliSandbox(t, { embedded: true });
const lockFile = path.join(sandbox.dataDir, LOCK_FILE);
const exists = (file: string) => stat(file).then(() => true, () => false);

t.test('a command releases the lock when it is done', async (t) => {
  const result = await sandbox.run(['users', 'list']);
  t.equal(result.status, 0, result.stderr);
  t.notOk(await exists(lockFile), 'no lock file left behind');
});

t.test('process: while a server process holds the embedded database, a CLI process refuses clearly (1)', async (t) => {
  const lock = await acquireEmbeddedLock(sandbox.dataDir, 'server');
  try {
    const result = await sandbox.spawn(['users', 'add', 'locked-out', '--password-stdin'], { stdin: 'some-password' });
    t.equal(result.status, 1);
    assertOneLineError(t, result, /the embedded database at .*pglite is in use by a running server \(pid \d+\); stop it or use DATABASE_URL/);
    t.notMatch(result.stderr, /some-password/);
  } finally {
    await lock.release();
  }
  t.notOk(await exists(lockFile), 'released');
  const listed = await sandbox.run(['users', 'list', '--json']);
  t.equal(listed.status, 0, listed.stderr);
  t.same(JSON.parse(listed.stdout), [], 'the refused command changed nothing');
});

t.test('a lock left by a process that no longer runs is taken over', async (t) => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid;
  await writeFile(lockFile, JSON.stringify({ pid: dead, hostname: os.hostname(), role: 'server', since: new Date().toISOString(), nonce: 'stale' }));
  const result = await sandbox.run(['users', 'list']);
  t.equal(result.status, 0, result.stderr);
  t.notOk(await exists(lockFile), 'the stale lock is gone and ours released');
});

t.test('a lock from another host cannot be checked and is respected', async (t) => {
  await writeFile(lockFile, JSON.stringify({ pid: 1, hostname: 'some-other-host.invalid', role: 'server', since: new Date().toISOString(), nonce: 'remote' }));
  const result = await sandbox.run(['users', 'list']);
  t.equal(result.status, 1);
  assertOneLineError(t, result, /in use by a running server \(pid 1 on some-other-host\.invalid\).*delete .*pglite\.lock/);
  t.match(JSON.parse(await readFile(lockFile, 'utf8')), { nonce: 'remote' }, 'left in place');
  await unlink(lockFile);
});

t.test('in one process, a second acquisition fails and release is idempotent', async (t) => {
  const first = await acquireEmbeddedLock(sandbox.dataDir, 'latchkey users list');
  await t.rejects(acquireEmbeddedLock(sandbox.dataDir, 'server'), EmbeddedDatabaseInUseError);
  await first.release();
  await first.release();
  const second = await acquireEmbeddedLock(sandbox.dataDir, 'server');
  t.ok(await exists(lockFile));
  await second.release();
  t.notOk(await exists(lockFile));
});

t.test('process: another CLI process holding it is named as such', async (t) => {
  const lock = await acquireEmbeddedLock(sandbox.dataDir, 'latchkey import');
  try {
    const result = await sandbox.spawn(['clients', 'list']);
    t.equal(result.status, 1);
    assertOneLineError(t, result, /in use by another latchkey process \(latchkey import, pid \d+\)/);
  } finally {
    await lock.release();
  }
});
