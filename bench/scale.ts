import pg from 'pg';
import type { BenchDatabase } from './bench-database.ts';
import type { BenchOptions, Launch } from './bench-options.ts';
import { round, type RunResult } from './load.ts';
import { codeFlow } from './oauth-client.ts';
import { aggregate, type Figures } from './report.ts';
import type { Scenario, Target } from './scenarios.ts';

/**
 * `--scale`: client_credentials and introspection on Latchkey with a nearly
 * empty oidc_payloads table, then again with 1,000,000 live token rows plus
 * expired ones preloaded by one INSERT … SELECT generate_series (rows shaped
 * like real ones: copies of a real AccessToken / ClientCredentials payload,
 * SHA-256 digest ids, grant and account ids), and finally how long the
 * sweeper takes to remove the expired rows (counted every 2 s from the end
 * of the preload, while the second measurement runs). The sweeper runs
 * every SWEEP_SECONDS here.
 */
const LIVE = 1_000_000;
const EXPIRED = 250_000;
const SWEEP_SECONDS = 60; // as test/helpers/latchkey-under-test.ts configures it
const SWEEP_WAIT_MS = 300_000;
const MEASURED = ['client_credentials', 'introspection'];

export interface ScaleReport {
  errors: number;
  empty: Record<string, Figures | null>;
  loaded: Record<string, Figures | null>;
  /** loaded rps / empty rps; budget: ≥ 0.9 */
  ratio: Record<string, number | null>;
  preload: { live: number; expired: number; seconds: number; table_mb: number };
  sweeper: {
    interval_s: number;
    expired_after_preload: number;
    /** Seconds after the preload when no expired row was left (null: not within the wait). */
    seconds_to_zero: number | null;
    samples: { at_s: number; expired: number }[];
    live_rows_intact: boolean;
  };
}

async function count(client: pg.Client, where: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`select count(*) as n from oidc_payloads where ${where}`);
  return Number(rows[0]!.n);
}

async function measure(target: Target, scenarios: Scenario[], options: BenchOptions): Promise<Record<string, Figures | null>> {
  const runOptions = { duration: options.duration, connections: options.connections, flowConcurrency: options.flowConcurrency };
  const results: Record<string, RunResult[]> = {};
  for (const scenario of scenarios) {
    if (options.warmup > 0) await scenario.run(target, { ...runOptions, duration: options.warmup });
    results[scenario.name] = [];
  }
  for (let run = 0; run < options.runs; run += 1) {
    for (const scenario of scenarios) {
      const result = await scenario.run(target, runOptions);
      results[scenario.name]!.push(result);
      process.stderr.write(`  ${scenario.name.padEnd(20)} run ${run + 1}/${options.runs}: ${result.rps}/s p50 ${result.p50_ms} ms p99 ${result.p99_ms} ms errors ${result.errors}\n`);
    }
  }
  return Object.fromEntries(Object.entries(results).map(([name, runs]) => [name, aggregate(runs)]));
}

/** One statement: LIVE rows that stay valid for hours and EXPIRED ones, 3 AccessToken : 1 ClientCredentials. */
const PRELOAD_SQL = `
  insert into oidc_payloads (realm, model, id, payload, grant_id, account_id, uid, user_code, expires_at)
  select 'default',
         case when g % 4 = 0 then 'ClientCredentials' else 'AccessToken' end,
         translate(encode(sha256(convert_to('bench-preload-' || g, 'UTF8')), 'base64'), '+/=', '-_'),
         case when g % 4 = 0
           then $1::jsonb || jsonb_build_object('iat', t.iat, 'exp', t.exp)
           else $2::jsonb || jsonb_build_object('iat', t.iat, 'exp', t.exp,
                  'grantId', 'bench-grant-' || (g / 2), 'accountId', 'bench-account-' || (g % 100000),
                  'sessionUid', 'bench-session-' || (g / 2))
         end,
         case when g % 4 = 0 then null else 'bench-grant-' || (g / 2) end,
         case when g % 4 = 0 then null else 'bench-account-' || (g % 100000) end,
         null, null, e.expires_at
  from generate_series(1, $3::int + $4::int) as g,
  lateral (select case when g <= $3 then now() + make_interval(secs => 7200 + g % 3600)
                       else now() - make_interval(secs => 1 + g % 3600) end as expires_at) as e,
  lateral (select extract(epoch from e.expires_at)::int - 600 as iat, extract(epoch from e.expires_at)::int as exp) as t`;

export async function runScale(launch: Launch, database: BenchDatabase, options: BenchOptions, all: Scenario[]): Promise<ScaleReport> {
  const scenarios = all.filter((s) => MEASURED.includes(s.name));
  const server = await launch('latchkey', { BENCH_SWEEP_SECONDS: String(SWEEP_SECONDS) });
  const target: Target = { name: 'latchkey', origin: server.origin };
  const admin = new pg.Client({ connectionString: database.url });
  await admin.connect();
  try {
    for (const scenario of scenarios) await scenario.prepare?.(target);
    await codeFlow(target.origin); // a real AccessToken row to copy
    process.stderr.write('scale: measuring on the (nearly) empty table\n');
    const empty = await measure(target, scenarios, options);

    const template = async (model: string) => {
      const { rows } = await admin.query<{ payload: object }>('select payload from oidc_payloads where model = $1 limit 1', [model]);
      if (!rows[0]) throw new Error(`no ${model} row to copy`);
      return JSON.stringify(rows[0].payload);
    };
    process.stderr.write(`scale: preloading ${LIVE} live and ${EXPIRED} expired rows\n`);
    const t0 = performance.now();
    await admin.query(PRELOAD_SQL, [await template('ClientCredentials'), await template('AccessToken'), LIVE, EXPIRED]);
    await admin.query('analyze oidc_payloads');
    const seconds = round((performance.now() - t0) / 1000);
    const expiredAfterPreload = await count(admin, 'expires_at < now()');
    const { rows: size } = await admin.query<{ bytes: string }>(`select pg_total_relation_size('oidc_payloads') as bytes`);
    process.stderr.write(`scale: preloaded in ${seconds} s; ${expiredAfterPreload} expired rows; measuring again (the sweeper runs meanwhile)\n`);

    const preloaded = performance.now();
    const since = () => round((performance.now() - preloaded) / 1000);
    const samples: { at_s: number; expired: number }[] = [];
    const poller = (async () => {
      while (since() * 1000 < SWEEP_WAIT_MS) {
        const expired = await count(admin, 'expires_at < now()');
        samples.push({ at_s: since(), expired });
        if (expired === 0) return since();
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
      return null;
    })();
    const loaded = await measure(target, scenarios, options);
    const secondsToZero = await poller;
    const liveLeft = await count(admin, `id in (select translate(encode(sha256(convert_to('bench-preload-' || g, 'UTF8')), 'base64'), '+/=', '-_') from generate_series(1, ${LIVE}) g)`);

    const ratio = Object.fromEntries(MEASURED.map((name) => {
      const before = empty[name];
      const after = loaded[name];
      return [name, before && after && before.rps > 0 ? round(after.rps / before.rps, 2) : null];
    }));
    const report: ScaleReport = {
      errors: [...Object.values(empty), ...Object.values(loaded)].reduce((sum, f) => sum + (f?.errors ?? 0), 0),
      empty,
      loaded,
      ratio,
      preload: { live: LIVE, expired: EXPIRED, seconds, table_mb: round(Number(size[0]!.bytes) / 2 ** 20) },
      sweeper: {
        interval_s: SWEEP_SECONDS,
        expired_after_preload: expiredAfterPreload,
        seconds_to_zero: secondsToZero,
        samples,
        live_rows_intact: liveLeft === LIVE,
      },
    };
    process.stdout.write(`\n${formatScale(report)}\n`);
    return report;
  } finally {
    await admin.end();
    await server.stop();
  }
}

function formatScale(report: ScaleReport): string {
  const row = (name: string) => {
    const e = report.empty[name];
    const l = report.loaded[name];
    const ratio = report.ratio[name] ?? null;
    return `${name.padEnd(20)} empty ${e?.rps}/s p99 ${e?.p99_ms} ms | 1M live ${l?.rps}/s p99 ${l?.p99_ms} ms | ratio ${ratio} (budget ≥ 0.90: ${ratio !== null && ratio >= 0.9 ? 'met' : 'MISSED'})`;
  };
  const s = report.sweeper;
  return [
    ...MEASURED.map(row),
    `preload: ${report.preload.live} live + ${report.preload.expired} expired rows in ${report.preload.seconds} s; table + indexes ${report.preload.table_mb} MB`,
    `sweeper (every ${s.interval_s} s): ${s.expired_after_preload} expired rows after the preload, ` +
      `${s.seconds_to_zero === null ? `some still there after ${SWEEP_WAIT_MS / 1000} s` : `none left ${s.seconds_to_zero} s later`}; live rows intact: ${s.live_rows_intact}`,
    `  expired rows over time (s: rows): ${s.samples.filter((_, i, all) => i % 5 === 0 || i === all.length - 1).map((x) => `${x.at_s}: ${x.expired}`).join(', ')}`,
  ].join('\n');
}
