import { stat } from 'node:fs/promises';
import t from 'tap';
import { cliSandbox } from './cli-sandbox.ts';

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
