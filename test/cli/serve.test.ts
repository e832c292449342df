import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { freePort } from '../helpers/latchkey-under-test.ts';
import { sleep } from '../helpers/token-requests.ts';
import { cliSandbox, migrateSandbox } from './cli-sandbox.ts';

// `latchkey serve` starts the same server as `npm start` and stops cleanly on SIGTERM.
const sandbox = await cliSandbox(t);
await migrateSandbox(sandbox);

t.test('serve answers discovery, then SIGTERM stops it with status 0', async (t) => {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['bin/latchkey.js', 'serve'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...sandbox.env, PORT: String(port), HOST: '127.0.0.1', LATCHKEY_ISSUER: issuer, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });

  let discovery: Record<string, unknown> | undefined;
  for (let attempt = 0; attempt < 240 && !discovery && child.exitCode === null; attempt += 1) {
    discovery = await fetch(`${issuer}/.well-known/openid-configuration`)
      .then((res) => (res.ok ? res.json() as Promise<Record<string, unknown>> : undefined), () => undefined);
    if (!discovery) await sleep(250);
  }
  t.equal(discovery?.issuer, issuer, 'the server answers discovery');
  if (!discovery) t.comment(output);
  t.equal((await fetch(`${issuer}/readyz`).catch(() => undefined))?.status, 200, 'ready: the database answers');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM stops it with status 0');
});
