import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOptions, Launch } from './bench-options.ts';
import { formatProfile, summarizeProfile, type ProfileSummary } from './cpu-profile.ts';
import { measureCpu, type CpuShare } from './cpu-usage.ts';
import { round, type RunResult } from './load.ts';
import { RESULTS_DIR } from './report.ts';
import type { Scenario } from './scenarios.ts';
import { runScript, type ServerName } from './server-process.ts';

/**
 * `--profile`: for client_credentials and introspection (or the scenarios
 * named by --only), a fresh Latchkey
 * and a fresh baseline each run the scenario once under a CPU profile
 * limited to the measured window (written as .cpuprofile next to the
 * results), and Latchkey also counts its SQL statements, so the report shows
 * where each spends its time and how many round trips a request costs.
 */
const PG_CEILING = fileURLToPath(new URL('./pg-ceiling.ts', import.meta.url));
export const PROFILED = ['client_credentials', 'introspection', 'introspection_user_token'];

export interface ProfileEntry {
  scenario: string;
  server: ServerName;
  run: RunResult;
  summary: ProfileSummary;
  /** Cores used during the run by the server, all PostgreSQL processes and the load generator. */
  cpu?: CpuShare | undefined;
  /** SQL statements per request, by statement (Latchkey only). */
  queries_per_request?: Record<string, number>;
}

export async function runProfile(launch: Launch, options: BenchOptions, scenarios: Scenario[], pg: { url: string; core: number | undefined }): Promise<{ errors: number; entries: ProfileEntry[]; pg_ceiling: Record<string, unknown> }> {
  const dir = path.join(RESULTS_DIR, `profiles-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  await mkdir(dir, { recursive: true });
  const runOptions = { duration: options.duration, connections: options.connections, flowConcurrency: options.flowConcurrency };
  const entries: ProfileEntry[] = [];
  for (const scenario of scenarios.filter((s) => (options.only ?? PROFILED).includes(s.name))) {
    // introspection_jwt has no baseline: the engine refuses to introspect JWTs.
    for (const name of (['latchkey', 'baseline'] as const).filter((server) => scenario.servers.includes(server))) {
      const server = await launch(name, name === 'latchkey' ? { BENCH_COUNT_QUERIES: '1' } : {});
      try {
        const target = { name, origin: server.origin };
        await scenario.prepare?.(target);
        if (options.warmup > 0) await scenario.run(target, { ...runOptions, duration: options.warmup });
        await server.reset();
        await server.profileStart();
        const cpu = measureCpu(server.pid);
        const run = await scenario.run(target, runOptions);
        const share = cpu();
        const file = path.join(dir, `${name}-${scenario.name}.cpuprofile`);
        await server.profileStop(file);
        const stats = await server.stats();
        const summary = await summarizeProfile(file);
        const entry: ProfileEntry = { scenario: scenario.name, server: name, run, summary, cpu: share };
        if (stats.queries && run.count > 0) {
          entry.queries_per_request = Object.fromEntries(Object.entries(stats.queries).map(([sql, n]) => [sql, round(n / run.count, 2)]));
        }
        entries.push(entry);
        process.stdout.write(`\n${scenario.name} on ${name}: ${run.rps}/s, p50 ${run.p50_ms} ms, p99 ${run.p99_ms} ms, errors ${run.errors}\n`);
        if (share) process.stdout.write(`CPU during the run, in cores: server ${share.server_cores}, PostgreSQL ${share.postgres_cores}, load generator ${share.load_generator_cores}\n`);
        process.stdout.write(`${formatProfile(`${name} ${scenario.name}`, summary)}\n`);
        if (entry.queries_per_request) {
          const total = Object.values(entry.queries_per_request).reduce((a, b) => a + b, 0);
          process.stdout.write(`  SQL statements per request: ${round(total, 2)}\n`);
          for (const [sql, n] of Object.entries(entry.queries_per_request)) process.stdout.write(`    ${String(n).padStart(5)}  ${sql}\n`);
        }
      } finally {
        await server.stop();
      }
    }
  }
  process.stdout.write('\nPostgreSQL alone from one pinned Node process (plain pg, pool of 10, 64 in flight):\n');
  const ceiling = await runScript({ script: PG_CEILING, env: { BENCH_DATABASE_URL: pg.url }, core: pg.core });
  for (const [name, result] of Object.entries(ceiling['results'] as Record<string, { ops_per_s: number; cpu?: { server_cores: number; postgres_cores: number } }>)) {
    process.stdout.write(`  ${name.padEnd(30)} ${String(result.ops_per_s).padStart(6)}/s   node ${result.cpu?.server_cores} cores, PostgreSQL ${result.cpu?.postgres_cores} cores\n`);
  }
  return { errors: entries.reduce((sum, e) => sum + e.run.errors, 0), entries, pg_ceiling: ceiling };
}
