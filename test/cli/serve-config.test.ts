import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { freePort } from '../helpers/latchkey-under-test.ts';
import { tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';

// `latchkey serve --config FILE --port N` (issue 14): a server for a CI job,
// as a background step before the tests. Its setup from the file (secrets
// from the environment), its database in memory and its keys in a temporary
// folder, the issuer printed once it listens; SIGTERM stops it with status 0
// and removes the folder.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-serve-config-'));
t.teardown(() => rm(dir, { recursive: true, force: true }));
const realmFile = path.join(dir, 'realm.yaml');
await writeFile(realmFile, [
  'realms:',
  '  - name: default',
  '    clients:',
  '      - client_id: ci-service',
  '        client_secret: ${CI_SERVICE_SECRET}',
  '        token_endpoint_auth_method: client_secret_basic',
  '        grant_types: [client_credentials]',
  '        response_types: []',
  '        redirect_uris: []',
  '        scope: api:read',
  '',
].join('\n'));
const SECRET = 'ci-service-secret-for-the-serve-test';

function latchkey(t: Test, args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['bin/latchkey.js', ...args], {
    cwd: ROOT,
    // No DATABASE_URL, data or keys folder: the defaults of --config are what is tested.
    env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: dir, CI_SERVICE_SECRET: SECRET, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const running = () => child.exitCode === null && child.signalCode === null;
  t.teardown(async () => {
    if (running()) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, exited, running, stdout: () => stdout, stderr: () => stderr };
}

t.test('serves the file\'s realm on the given port, prints the issuer, stops on SIGTERM leaving nothing', async (t) => {
  const port = await freePort();
  const server = latchkey(t, ['serve', '--config', realmFile, '--port', String(port)]);
  const issuer = `http://127.0.0.1:${port}`;
  await waitFor(() => server.stdout().includes('discovery'), { timeoutMs: 60_000, giveUp: () => !server.running() });
  t.match(server.stdout(), new RegExp(`issuer\\s+${issuer}\\n`), `prints the issuer${server.running() ? '' : `; stderr: ${server.stderr()}`}`);
  t.match(server.stdout(), /in-memory database/, 'says its database is in memory');

  const token = await tokenRequest(issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: ['ci-service', SECRET] });
  t.equal(token.status, 200, 'the file\'s client gets a token, its secret from the environment');
  t.same((await readdir(dir)).filter((name) => name.startsWith('latchkey-run-')).length, 1, 'its keys in a temporary folder');

  server.child.kill('SIGTERM');
  t.equal(await server.exited, 0, 'SIGTERM stops it with status 0');
  t.same((await readdir(dir)).filter((name) => name.startsWith('latchkey-run-')), [], 'and the temporary folder is gone');
});

t.test('a port in use, a missing file, a bad option: a clear message and a failure status', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => taken.close(() => resolve())));
  const port = (taken.address() as { port: number }).port;

  const inUse = latchkey(t, ['serve', '--config', realmFile, '--port', String(port)]);
  t.equal(await inUse.exited, 1, 'a port in use: status 1');
  t.match(inUse.stderr(), /EADDRINUSE|in use/, 'naming the cause');

  const missing = latchkey(t, ['serve', '--config', path.join(dir, 'nowhere.yaml'), '--port', String(await freePort())]);
  t.not(await missing.exited, 0, 'a missing setup file: a failure');
  t.match(missing.stderr(), /nowhere\.yaml/, 'naming the file');
  t.notMatch(missing.stderr(), /\n\s+at /, 'no stack trace');

  const badPort = latchkey(t, ['serve', '--config', realmFile, '--port', '80x']);
  t.equal(await badPort.exited, 2, 'a bad --port: a usage error');
  t.match(badPort.stderr(), /--port must be a port number/);
});
