import t from 'tap';
import { spawnServer } from '../helpers/server-process.ts';
import { cliSandbox, migrateSandbox } from './cli-sandbox.ts';

// `latchkey serve` as a real process (signals and exit statuses belong to a
// process): it starts the same server as `npm start` and stops cleanly on
// SIGTERM (a service manager, docker stop) and on SIGINT (Ctrl-C). The first
// start finds an empty data directory, as on a new install, and initialises
// the embedded database itself.
const sandbox = await cliSandbox(t, { freshDataDir: true });
await migrateSandbox(sandbox);

// One after the other: on the embedded database the second needs the first's lock.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`process: serve answers discovery, then ${signal} stops it with status 0`, async (t) => {
    const server = await spawnServer(t, sandbox, { databaseUrl: sandbox.databaseUrl });
    const discovery = await fetch(`${server.issuer}/.well-known/openid-configuration`)
      .then((res) => (res.ok ? res.json() as Promise<Record<string, unknown>> : undefined), () => undefined);
    t.equal(discovery?.issuer, server.issuer, 'the server answers discovery');
    if (!discovery) t.comment(server.output());
    t.equal((await fetch(`${server.issuer}/readyz`).catch(() => undefined))?.status, 200, 'ready: the database answers');

    server.child.kill(signal);
    t.equal(await server.exited, 0, `${signal} stops it with status 0`);
  });
}
