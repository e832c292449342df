import { aggregate, RESULTS_DIR, type Figures } from './report.ts';
import type { BenchOptions, Launch } from './bench-options.ts';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { shareOf } from './cpu-profile.ts';
import { measureCpu } from './cpu-usage.ts';
import { median, round, type RunResult } from './load.ts';
import type { Scenario, Target } from './scenarios.ts';

/**
 * `--observability`: what metrics and audit events cost (issue 12: at most
 * 5 % of client_credentials and introspection throughput). Two Latchkeys in
 * the same run, on the same database, pinned alike: one as configured by
 * default (metrics on, audit events on), one with LATCHKEY_METRICS=off and
 * LATCHKEY_AUDIT=off. Runs alternate between them, which goes first
 * alternating too, so that drift hits both alike; the ratio is with/without
 * of the medians, and each run's rps is kept, for the spread.
 *
 * On a shared machine throughput follows whatever else runs, far more than
 * 5 %; the server's own CPU time per good answer (from /proc, its process
 * only) moves much less with the neighbours, so it is reported beside it:
 * `cpu_ratio` is without/with of the medians, the throughput ratio a
 * server bound by its one core would show. And one more run of the default
 * server under a CPU profile says what share of its busy time the
 * observability code itself took (prom-client, src/metrics/, src/audit/):
 * the figure that neighbours do not move.
 */
const OFF = { metrics: { LATCHKEY_METRICS: 'off' }, audit: { LATCHKEY_AUDIT: 'off' } } as const;
const SCENARIOS = ['client_credentials', 'introspection'];
/** The observability code: prom-client, Latchkey's metrics, and its audit events (src/audit/, once they exist). */
const isObservabilityCode = (url: string) => /\/node_modules\/prom-client\/|\/src\/(metrics|audit)\//.test(url);

export interface ObservabilityReport {
  scenarios: {
    name: string;
    with: Variant | null;
    without: Variant | null;
    ratio: number | null;
    cpu_ratio: number | null;
    /** The same with PostgreSQL's CPU per answer added (the audit rows are written there): without/with. */
    total_cpu_ratio: number | null;
    /**
     * The median of each run's own ratio (with/without rps, run i of each:
     * back to back, so that the machine's drift over the whole run, which
     * on a shared machine is far more than 5 %, cancels out).
     */
    paired_ratio: number | null;
    /** Of the default server's busy CPU time in a profiled run: the share spent in metrics and audit code. */
    profiled: { busy_ms: number; owned_ms: number; pct: number; file: string } | null;
  }[];
  errors: number;
  /** What the second server had turned off. */
  without: string[];
}

type Variant = Figures & {
  /** The server's CPU milliseconds per good answer, median of the runs, and each run's. */
  cpu_ms: number | null;
  cpu_ms_runs: (number | null)[];
  /** All PostgreSQL processes' CPU milliseconds per good answer, median of the runs, and each run's. */
  db_ms: number | null;
  db_ms_runs: (number | null)[];
};

export async function runObservability(launch: Launch, options: BenchOptions, all: Scenario[], log: (line: string) => void): Promise<ObservabilityReport> {
  const runOptions = { duration: options.duration, connections: options.connections, flowConcurrency: options.flowConcurrency };
  const report: ObservabilityReport = { scenarios: [], errors: 0, without: options.without };
  for (const scenario of all.filter((s) => (options.only ?? SCENARIOS).includes(s.name))) {
    // Server variants: the environment reaches assembleLatchkey through BENCH_LATCHKEY_ENV (bench/latchkey-server.ts).
    // One after the other: the first start writes the shared keys folder's keys, the second reads them.
    const handles = [await launch('latchkey')];
    const without = Object.assign({}, ...options.without.map((part) => OFF[part])) as Record<string, string>;
    handles.push(await launch('latchkey', { BENCH_LATCHKEY_ENV: JSON.stringify(without) }));
    try {
      const variants: { label: 'with' | 'without'; target: Target; pid: number; results: RunResult[]; cpuMs: (number | null)[]; dbMs: (number | null)[] }[] = [
        { label: 'with', target: { name: 'latchkey', origin: handles[0]!.origin }, pid: handles[0]!.pid, results: [], cpuMs: [], dbMs: [] },
        { label: 'without', target: { name: 'latchkey', origin: handles[1]!.origin }, pid: handles[1]!.pid, results: [], cpuMs: [], dbMs: [] },
      ];
      for (const { target } of variants) await scenario.prepare?.(target);
      if (options.warmup > 0) {
        for (const { target } of variants) await scenario.run(target, { ...runOptions, duration: options.warmup });
      }
      for (let run = 0; run < options.runs; run += 1) {
        for (const variant of run % 2 ? [...variants].reverse() : variants) {
          const cpu = measureCpu(variant.pid);
          const result = await scenario.run(variant.target, runOptions);
          const share = cpu();
          const cpuMs = share && result.rps > 0 ? round((share.server_cores * 1000) / result.rps, 3) : null;
          const dbMs = share && result.rps > 0 ? round((share.postgres_cores * 1000) / result.rps, 3) : null;
          variant.results.push(result);
          variant.cpuMs.push(cpuMs);
          variant.dbMs.push(dbMs);
          log(`  ${scenario.name.padEnd(20)} ${variant.label.padEnd(8)} run ${run + 1}/${options.runs}: ${result.rps}/s  p50 ${result.p50_ms} ms  p99 ${result.p99_ms} ms  server CPU ${cpuMs ?? '?'} ms/answer  PostgreSQL ${dbMs ?? '?'} ms/answer  errors ${result.errors}${result.detail ? ` (${result.detail})` : ''}`);
        }
      }
      const [withFigures, withoutFigures] = variants.map((variant) => {
        const figures = aggregate(variant.results);
        const medianOf = (runs: (number | null)[]) => {
          const measured = runs.filter((ms): ms is number => ms !== null);
          return measured.length ? round(median(measured), 3) : null;
        };
        return figures && { ...figures, cpu_ms: medianOf(variant.cpuMs), cpu_ms_runs: variant.cpuMs, db_ms: medianOf(variant.dbMs), db_ms_runs: variant.dbMs };
      }) as [Variant | null, Variant | null];
      // The default server once more, under a CPU profile.
      const file = path.join(RESULTS_DIR, `observability-${new Date().toISOString().replace(/[:.]/g, '-')}-${scenario.name}.cpuprofile`);
      await mkdir(RESULTS_DIR, { recursive: true });
      await handles[0]!.profileStart();
      await scenario.run(variants[0]!.target, runOptions);
      await handles[0]!.profileStop(file);
      const profiled = { ...await shareOf(file, isObservabilityCode), file };
      log(`  ${scenario.name.padEnd(20)} with     profiled: ${profiled.pct} % of ${profiled.busy_ms} ms busy in metrics and audit code`);
      const ratio = withFigures && withoutFigures && withoutFigures.rps > 0 ? round(withFigures.rps / withoutFigures.rps, 3) : null;
      const cpuRatio = withFigures?.cpu_ms && withoutFigures?.cpu_ms ? round(withoutFigures.cpu_ms / withFigures.cpu_ms, 3) : null;
      const total = (variant: Variant | null) => (variant?.cpu_ms != null && variant.db_ms != null ? variant.cpu_ms + variant.db_ms : null);
      const totalWith = total(withFigures);
      const totalWithout = total(withoutFigures);
      const totalCpuRatio = totalWith && totalWithout ? round(totalWithout / totalWith, 3) : null;
      const pairs = variants[0]!.results.flatMap((result, i) => {
        const other = variants[1]!.results[i];
        return other && other.rps > 0 ? [result.rps / other.rps] : [];
      });
      const pairedRatio = pairs.length ? round(median(pairs), 3) : null;
      report.scenarios.push({ name: scenario.name, with: withFigures, without: withoutFigures, ratio, cpu_ratio: cpuRatio, total_cpu_ratio: totalCpuRatio, paired_ratio: pairedRatio, profiled });
      report.errors += (withFigures?.errors ?? 0) + (withoutFigures?.errors ?? 0);
    } finally {
      await Promise.all(handles.map((handle) => handle.stop()));
    }
  }
  return report;
}

export function formatObservability(report: ObservabilityReport): string {
  const fixed = (value: number | null | undefined, digits: number) => (value === null || value === undefined ? '-' : value.toFixed(digits));
  const rows = report.scenarios.map((s) => [
    s.name.padEnd(20),
    String(s.with?.rps ?? '-').padStart(8), fixed(s.with?.cpu_ms, 3).padStart(7),
    String(s.without?.rps ?? '-').padStart(8), fixed(s.without?.cpu_ms, 3).padStart(7),
    fixed(s.ratio, 3).padStart(6), fixed(s.paired_ratio, 3).padStart(6), fixed(s.cpu_ratio, 3).padStart(9), fixed(s.total_cpu_ratio, 3).padStart(8), `${fixed(s.profiled?.pct, 2)} %`.padStart(10),
    `  rps with [${s.with?.runs.join(', ') ?? ''}] w/o [${s.without?.runs.join(', ') ?? ''}]`
      + `  cpu ms with [${s.with?.cpu_ms_runs.join(', ') ?? ''}] w/o [${s.without?.cpu_ms_runs.join(', ') ?? ''}]`
      + `  db ms with [${s.with?.db_ms_runs.join(', ') ?? ''}] w/o [${s.without?.db_ms_runs.join(', ') ?? ''}]`,
  ].join(' '));
  return [
    `${'scenario'.padEnd(20)} ${'with rps'.padStart(8)} ${'cpu ms'.padStart(7)} ${'w/o rps'.padStart(8)} ${'cpu ms'.padStart(7)} ${'ratio'.padStart(6)} ${'paired'.padStart(6)} ${'cpu ratio'.padStart(9)} ${'+db'.padStart(8)} ${'profiled'.padStart(10)}  per run`,
    ...rows,
    `with: as configured by default (metrics, audit events); w/o: ${report.without.map((part) => `${Object.keys(OFF[part as keyof typeof OFF])[0]}=off`).join(' ')}`,
    'ratio: rps with/without (medians); paired: median of each run\'s with/without (run i of each, back to back); cpu ratio: server CPU per answer without/with (budget of issue 12: ≥ 0.95); +db: the same with PostgreSQL\'s CPU per answer added',
    'profiled: share of the default server\'s busy CPU in prom-client, src/metrics/ and src/audit/ during one more run (budget: ≤ 5 %)',
  ].join('\n');
}
