import pg from 'pg';
import t from 'tap';
import { serverDirs, spawnServer, type ServerProcess } from '../helpers/server-process.ts';
import { SECRETS } from '../helpers/setups.ts';
import { introspect, sleep, tokenRequest } from '../helpers/token-requests.ts';
import { waitFor } from '../helpers/waiting.ts';
import { proxiedDatabase } from '../helpers/proxied-database.ts';

// Issue 8, point 1 and SECURITY-CATALOG 64/99, on a real server process:
// PostgreSQL ending the server's backends under load, a network partition
// and a slow link. Outcomes only: the process keeps running, every answer is
// a success or 503 with Retry-After (never a 500, never a hang), nothing
// acknowledged is lost, and it recovers by itself.
const proxied = await proxiedDatabase(t);
if (!proxied) {
  t.plan(0, 'no PostgreSQL server reachable');
} else {
  const { proxy, databaseUrl } = proxied;
  const viaProxy = proxied.viaProxy;
  const real = new URL(databaseUrl);

  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  t.teardown(() => admin.end());

  const connectTimeoutMs = 1000;
  const server = await spawnServer(t, await serverDirs(t, { embedded: false }), {
    databaseUrl: viaProxy,
    env: { DATABASE_CONNECT_TIMEOUT_MS: String(connectTimeoutMs), DATABASE_POOL_MAX: '8' },
  });
  if (!server.running()) throw new Error(`the server did not start: ${server.output()}`);
  const svc = ['svc', SECRETS.svc] as const;
  const rs = ['rs', SECRETS.rs] as const;

  /** How many answers of a status (0: no answer) have come so far. */
  type Count = (status: number) => number;

  /** Requests from `workers` concurrent clients until `during` resolves; every answer and every token acknowledged. */
  async function underLoad(server: ServerProcess, workers: number, during: (count: Count) => Promise<void>) {
    const statuses = new Map<number, number>();
    const count: Count = (status) => statuses.get(status) ?? 0;
    let slowest = 0;
    const acknowledged: string[] = [];
    const problems: string[] = [];
    let stopping = false;
    const worker = async () => {
      while (!stopping) {
        const started = Date.now();
        // A deadline, generous for waiting on a connection and then a statement on a busy CI
        // machine: only a hang goes past it, and counts as a problem.
        const response = await tokenRequest(server.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: svc, deadlineMs: 4 * connectTimeoutMs + 5000 })
          .catch((error: Error) => ({ status: 0, json: undefined, headers: new Headers(), text: error.name === 'TimeoutError' ? 'no answer before the deadline' : error.message }));
        slowest = Math.max(slowest, Date.now() - started); // reported, not asserted
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        if (response.status === 200) acknowledged.push(response.json!.access_token as string);
        else if (response.status === 503) {
          if (!(Number(response.headers.get('retry-after')) > 0)) problems.push('503 without Retry-After');
          if (response.json?.error !== 'temporarily_unavailable') problems.push(`503 with ${response.text.slice(0, 80)}`);
        } else problems.push(`status ${response.status}: ${response.text.slice(0, 120)}`);
        // A client's back-off after a failure, so that a failing server is not hammered in a tight loop.
        if (response.status !== 200) await sleep(20);
      }
    };
    const running = Array.from({ length: workers }, worker);
    await during(count);
    stopping = true;
    await Promise.all(running);
    return { statuses, acknowledged, problems, slowest };
  }

  async function backInService(): Promise<void> {
    const back = await waitFor(async () => (await tokenRequest(server.issuer, { grant_type: 'client_credentials', scope: 'api:read' }, { basic: svc })
      .catch(() => undefined))?.status === 200, { timeoutMs: 10_000, intervalMs: 50 });
    if (!back) throw new Error('no recovery');
  }

  t.test('PostgreSQL ends the server\'s backends again and again under load: the process survives', async (t) => {
    let terminated = 0;
    const { statuses, acknowledged, problems } = await underLoad(server, 12, async (count) => {
      for (let round = 0; round < 25; round += 1) {
        // Each round ends the backends the server has reconnected and served on since the last one.
        const served = count(200);
        await waitFor(() => count(200) > served, { timeoutMs: 10_000, intervalMs: 10 });
        const { rowCount } = await admin.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'latchkey' and datname = $1",
          [real.pathname.slice(1)],
        );
        terminated += rowCount ?? 0;
      }
    });
    t.comment(`answers: ${JSON.stringify(Object.fromEntries(statuses))}; backends terminated: ${terminated}`);
    t.ok(terminated > 10, 'backends were terminated while in use');
    t.same(problems, [], 'only 200, or 503 temporarily_unavailable with Retry-After, promptly');
    t.ok(server.running(), `the process is still running${server.running() ? '' : `: ${server.output()}`}`);
    await backInService();
    const sample = acknowledged.filter((_, i) => i % Math.max(1, Math.floor(acknowledged.length / 40)) === 0);
    let lost = 0;
    for (const token of sample) if ((await introspect(server.issuer, token, rs)).json?.active !== true) lost += 1;
    t.equal(lost, 0, `every acknowledged token checked (${sample.length} of ${acknowledged.length}) is active`);
  });

  t.test('a network partition: 503 promptly for every request, /readyz follows, recovery without restart', async (t) => {
    const { statuses, problems, slowest } = await underLoad(server, 6, async (count) => {
      await waitFor(() => count(200) >= 6, { timeoutMs: 10_000, intervalMs: 10 }); // the load is on
      proxy.blackhole();
      // Every worker has been answered 503 (after the connect or query timeout, not never).
      await waitFor(() => count(503) >= 6, { timeoutMs: 20_000, intervalMs: 10 });
      const ready = await fetch(`${server.issuer}/readyz`);
      t.equal(ready.status, 503, '/readyz reports the partition');
      await proxy.restore();
      const served = count(200);
      await waitFor(() => count(200) > served, { timeoutMs: 10_000, intervalMs: 10 }); // answered again under load
    });
    t.comment(`answers: ${JSON.stringify(Object.fromEntries(statuses))}; slowest ${slowest} ms (connect timeout ${connectTimeoutMs} ms)`);
    t.ok((statuses.get(503) ?? 0) > 0, 'the partition was felt');
    t.same(problems, [], 'only 200, or 503 temporarily_unavailable with Retry-After, never a hang');
    t.ok(server.running(), 'the process is still running');
    await backInService();
    t.equal((await fetch(`${server.issuer}/readyz`)).status, 200, 'ready again');
  });

  t.test('a slow link (150 ms each way) slows answers down but fails none', async (t) => {
    proxy.slow(150);
    // Until every worker has had two answers, on average, through the slow link.
    const { statuses, problems } = await underLoad(server, 4, (count) => waitFor(() => count(200) + count(503) >= 8, { timeoutMs: 30_000, intervalMs: 10 }).then(() => {}));
    await proxy.restore();
    t.comment(`answers: ${JSON.stringify(Object.fromEntries(statuses))}`);
    t.same(problems, [], 'no failures');
    t.notOk(statuses.has(503), 'nothing counted as an outage');
    t.ok((statuses.get(200) ?? 0) > 0, 'tokens were issued');
  });
}
