import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createBenchDatabase, type BenchDatabase } from './bench-database.ts';
import { launcher, parseOptions, USAGE, type BenchOptions, type Launch } from './bench-options.ts';
import { formatClientAuthTiming, runClientAuthTiming } from './client-auth-timing.ts';
import { formatObservability, runObservability } from './observability.ts';
import { runProfile } from './profile.ts';
import { aggregate, formatTable, scenarioReport, writeResults, type ScenarioReport } from './report.ts';
import { runScale } from './scale.ts';
import { allScenarios, type Scenario, type Target } from './scenarios.ts';
import { hasTaskset, killAllServersNow, pinSelf, stopAllServers } from './server-process.ts';
import { runSoak } from './soak.ts';
import type { RunResult } from './load.ts';

/**
 * `npm run bench` (and `bench:smoke`, `-- --profile|--scale|--soak|--observability|--client-auth`): creates
 * a fresh PostgreSQL database, starts Latchkey on it and the in-memory
 * baseline as child processes pinned to core 0 (this process, the load
 * generator, on core 1), runs the scenarios alternating between the two,
 * prints the table, writes bench/results/<timestamp>.json, and stops
 * everything and drops the database on every way out. Exit code 1 on
 * errors or non-2xx answers, never on timing.
 */
const SMOKE_DEADLINE_MS = 170_000;
/** `--client-auth`: rounds of every kind (each failure costs one argon2id verification, ~20–35 ms). */
const CLIENT_AUTH_ROUNDS = 300;

let database: BenchDatabase | undefined;
let keysDir: string | undefined;
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await stopAllServers();
    await database?.drop().catch((error: Error) => log(`could not drop ${database?.name}: ${error.message}`));
    if (keysDir) await rm(keysDir, { recursive: true, force: true });
  })();
  return cleaning;
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(options: BenchOptions, clientAuth: boolean): Promise<number> {
  const pinned = options.pin && os.availableParallelism() >= 2 && pinSelf(1);
  log(`bench: ${options.mode} mode; ${pinned ? 'servers pinned to core 0, load generator to core 1' : `not pinned${hasTaskset ? '' : ' (no taskset)'}`}`);
  database = await createBenchDatabase();
  log(`bench: database ${database.name}`);
  keysDir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-bench-keys-'));
  const launch = launcher(database, keysDir, pinned);
  // Another busy process on the machine skews everything; the load average says whether there was one.
  const machine = { cpus: os.availableParallelism(), cpu_model: os.cpus()[0]?.model, node: process.version, pinned, loadavg_at_start: os.loadavg() };
  if (os.loadavg()[0]! > 1) log(`bench: load average ${os.loadavg()[0]!.toFixed(2)} before starting: other processes are busy, figures will be lower and noisier`);

  if (clientAuth) {
    // With --smoke: a quick check that it runs (10 rounds), not a measurement.
    const report = await runClientAuthTiming(launch, database, keysDir, { rounds: options.mode === 'smoke' ? 10 : CLIENT_AUTH_ROUNDS, warmupRounds: 3 });
    process.stdout.write(`\n${formatClientAuthTiming(report)}\n`);
    log(`results: ${await writeResults({ machine, options, clientAuth: report }, '-client-auth')}`);
    return report.errors > 0 ? 1 : 0;
  }
  if (options.mode === 'profile') {
    const profile = await runProfile(launch, options, allScenarios(), { url: database.url, core: pinned ? 0 : undefined });
    log(`results: ${await writeResults({ machine, options, profile }, '-profile')}`);
    return profile.errors > 0 ? 1 : 0;
  }
  if (options.mode === 'scale') {
    const scale = await runScale(launch, database, options, allScenarios());
    log(`results: ${await writeResults({ machine, options, scale }, '-scale')}`);
    return scale.errors > 0 ? 1 : 0;
  }
  if (options.mode === 'observability') {
    const observability = await runObservability(launch, options, allScenarios(), log);
    process.stdout.write(`\n${formatObservability(observability)}\n`);
    log(`results: ${await writeResults({ machine, options, observability }, '-observability')}`);
    return observability.errors > 0 ? 1 : 0;
  }
  if (options.mode === 'soak') {
    const soak = await runSoak(launch, options);
    log(`results: ${await writeResults({ machine, options, soak }, '-soak')}`);
    return soak.errors > 0 ? 1 : 0;
  }

  const scenarios = selectScenarios(options);
  const reports = await runScenarios(launch, scenarios, options);
  process.stdout.write(`\n${formatTable(reports)}\n`);
  const file = await writeResults({ machine, options, scenarios: reports }, options.mode === 'smoke' ? '-smoke' : '');
  log(`results: ${file}`);
  const errors = reports.reduce((sum, r) => sum + (r.latchkey?.errors ?? 0) + (r.baseline?.errors ?? 0), 0);
  if (errors > 0) log(`bench: ${errors} errors or non-2xx answers`);
  return errors > 0 ? 1 : 0;
}

function selectScenarios(options: BenchOptions): Scenario[] {
  const all = allScenarios();
  if (!options.only) return all;
  const unknown = options.only.filter((name) => !all.some((s) => s.name === name));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${all.map((s) => s.name).join(', ')}`);
  return all.filter((s) => options.only!.includes(s.name));
}

/** Each scenario gets a fresh Latchkey and a fresh baseline (same database), so no scenario inherits another's state. */
async function runScenarios(launch: Launch, scenarios: Scenario[], options: BenchOptions): Promise<ScenarioReport[]> {
  const runOptions = { duration: options.duration, connections: options.connections, flowConcurrency: options.flowConcurrency };
  const reports: ScenarioReport[] = [];
  for (const scenario of scenarios) {
    const handles = await Promise.all(scenario.servers.map((name) => launch(name)));
    try {
      const servers: Target[] = handles.map((handle) => ({ name: handle.name, origin: handle.origin }));
      for (const target of servers) await scenario.prepare?.(target);
      if (options.warmup > 0) {
        for (const target of servers) await scenario.run(target, { ...runOptions, duration: options.warmup });
      }
      const results: Record<string, RunResult[]> = { latchkey: [], baseline: [] };
      for (let run = 0; run < options.runs; run += 1) {
        // Alternate which server goes first, so drift over time hits both alike.
        for (const target of run % 2 ? [...servers].reverse() : servers) {
          const result = await scenario.run(target, runOptions);
          results[target.name]!.push(result);
          log(`  ${scenario.name.padEnd(28)} ${target.name.padEnd(8)} run ${run + 1}/${options.runs}: ${result.rps}/s  p50 ${result.p50_ms} ms  p99 ${result.p99_ms} ms  errors ${result.errors}${result.detail ? ` (${result.detail})` : ''}`);
        }
      }
      reports.push(scenarioReport(scenario.name, scenario.note, aggregate(results['latchkey']!), aggregate(results['baseline']!), reports));
    } finally {
      await Promise.all(handles.map((handle) => handle.stop()));
    }
  }
  return reports;
}

let options: BenchOptions;
// --client-auth is a mode of its own (bench/client-auth-timing.ts); the shared options parser does not know it.
const argv = process.argv.slice(2);
const clientAuth = argv.includes('--client-auth');
try {
  options = parseOptions(argv.filter((arg) => arg !== '--client-auth'));
} catch (error) {
  log(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}

process.on('exit', killAllServersNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`bench: ${signal}, cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
if (options.mode === 'smoke') {
  setTimeout(() => {
    log(`bench: smoke run still going after ${SMOKE_DEADLINE_MS / 1000} s, giving up`);
    void cleanup().finally(() => process.exit(1));
  }, SMOKE_DEADLINE_MS).unref();
}

let code = 1;
try {
  code = await main(options, clientAuth);
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? error}`);
} finally {
  await cleanup();
}
process.exit(code);
