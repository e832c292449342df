import t from 'tap';
import { runLatchkey } from '../cli/cli-sandbox.ts';
import { serverDirs, spawnServer } from '../helpers/server-process.ts';
import { SECRETS } from '../helpers/setups.ts';
import { introspect, tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';

// The embedded database (PGlite) belongs to one process: real server
// processes on one data directory, and a server killed with SIGKILL in the
// middle of writes. These concern the embedded database only, so the
// PostgreSQL run of the suite skips them.
if (process.env.DATABASE_URL) {
  t.plan(0, 'embedded database only');
} else {
  const svc = ['svc', SECRETS.svc] as const;
  const rs = ['rs', SECRETS.rs] as const;

  t.test('a second server on the same data directory is refused; the first keeps serving', async (t) => {
    const dirs = await serverDirs(t);
    const first = await spawnServer(t, dirs);
    t.ok(first.running(), `the first server runs${first.running() ? '' : `: ${first.output()}`}`);
    const issued = await tokenRequest(first.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: svc });
    t.equal(issued.status, 200);

    const second = await spawnServer(t, dirs);
    t.equal(await second.exited, 1, 'the second server exits with status 1');
    const lines = second.stderr().split('\n').filter(Boolean);
    t.equal(lines.length, 1, `one line on stderr: ${JSON.stringify(second.stderr())}`);
    t.match(lines[0], /^latchkey: could not start: the embedded database at .*pglite is in use by a running server \(pid \d+\)/);
    t.notMatch(second.output(), /^\s+at /m, 'no stack trace');

    const cli = await runLatchkey(['users', 'list'], {
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LATCHKEY_DATA_DIR: dirs.dataDir, LATCHKEY_KEYS_DIR: dirs.keysDir, LATCHKEY_CONFIG: dirs.configFile },
    });
    t.equal(cli.status, 1, 'a CLI command is refused too');
    t.match(cli.stderr, /in use by a running server/);

    t.equal((await introspect(first.issuer, issued.json!.access_token, rs)).json?.active, true, 'the first server still answers from its database');
    first.child.kill('SIGTERM');
    t.equal(await first.exited, 0, 'the first server stops cleanly');
    const third = await spawnServer(t, dirs);
    t.ok(third.running(), 'once it has stopped, another server starts on the directory');
    t.equal((await introspect(third.issuer, issued.json!.access_token, rs)).json?.active, true, 'and sees what the first one stored');
  });

  t.test('kill -9 during writes: every acknowledged token survives, the next start takes over the lock', async (t) => {
    const dirs = await serverDirs(t);
    const server = await spawnServer(t, dirs);
    t.ok(server.running(), 'the server runs');
    const acknowledged: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const response = await tokenRequest(server.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: svc }).catch(() => undefined);
        if (response?.status === 200) acknowledged.push(response.json!.access_token as string);
        if (!response) return; // the server is gone
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    // Killed in the middle of writes: while eight clients keep writing, once enough have been acknowledged to count.
    await waitFor(() => acknowledged.length > 40, { timeoutMs: 30_000, intervalMs: 10 });
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(workers);
    await server.exited;
    t.ok(acknowledged.length > 20, `${acknowledged.length} tokens were acknowledged before the kill`);

    const restarted = await spawnServer(t, dirs);
    t.ok(restarted.running(), `the server starts again over the dead process's lock${restarted.running() ? '' : `: ${restarted.output()}`}`);
    let lost = 0;
    for (const token of acknowledged) if ((await introspect(restarted.issuer, token, rs)).json?.active !== true) lost += 1;
    t.equal(lost, 0, 'no acknowledged token was lost');
    t.equal((await tokenRequest(restarted.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: svc })).status, 200, 'and it issues tokens');
  });
}
