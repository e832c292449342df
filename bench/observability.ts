import { aggregate, type Figures } from './report.ts';
import type { BenchOptions, Launch } from './bench-options.ts';
import { round, type RunResult } from './load.ts';
import type { Scenario, Target } from './scenarios.ts';

/**
 * `--observability`: what metrics and audit events cost (issue 12: at most
 * 5 % of client_credentials and introspection throughput). Two Latchkeys in
 * the same run, on the same database, pinned alike: one as configured by
 * default (metrics on, audit events on), one with LATCHKEY_METRICS=off and
 * LATCHKEY_AUDIT=off. Runs alternate between them, which goes first
 * alternating too, so that drift hits both alike; the ratio is with/without
 * of the medians, and each run's rps is kept, for the spread.
 */
export const WITHOUT_OBSERVABILITY = { LATCHKEY_METRICS: 'off', LATCHKEY_AUDIT: 'off' } as const;
const SCENARIOS = ['client_credentials', 'introspection'];

export interface ObservabilityReport {
  scenarios: { name: string; with: Figures | null; without: Figures | null; ratio: number | null }[];
  errors: number;
}

export async function runObservability(launch: Launch, options: BenchOptions, all: Scenario[], log: (line: string) => void): Promise<ObservabilityReport> {
  const runOptions = { duration: options.duration, connections: options.connections, flowConcurrency: options.flowConcurrency };
  const report: ObservabilityReport = { scenarios: [], errors: 0 };
  for (const scenario of all.filter((s) => (options.only ?? SCENARIOS).includes(s.name))) {
    // Server variants: the environment reaches assembleLatchkey through BENCH_LATCHKEY_ENV (bench/latchkey-server.ts).
    // One after the other: the first start writes the shared keys folder's keys, the second reads them.
    const handles = [await launch('latchkey')];
    handles.push(await launch('latchkey', { BENCH_LATCHKEY_ENV: JSON.stringify(WITHOUT_OBSERVABILITY) }));
    try {
      const variants: { label: 'with' | 'without'; target: Target; results: RunResult[] }[] = [
        { label: 'with', target: { name: 'latchkey', origin: handles[0]!.origin }, results: [] },
        { label: 'without', target: { name: 'latchkey', origin: handles[1]!.origin }, results: [] },
      ];
      for (const { target } of variants) await scenario.prepare?.(target);
      if (options.warmup > 0) {
        for (const { target } of variants) await scenario.run(target, { ...runOptions, duration: options.warmup });
      }
      for (let run = 0; run < options.runs; run += 1) {
        for (const variant of run % 2 ? [...variants].reverse() : variants) {
          const result = await scenario.run(variant.target, runOptions);
          variant.results.push(result);
          log(`  ${scenario.name.padEnd(20)} ${variant.label.padEnd(8)} run ${run + 1}/${options.runs}: ${result.rps}/s  p50 ${result.p50_ms} ms  p99 ${result.p99_ms} ms  errors ${result.errors}${result.detail ? ` (${result.detail})` : ''}`);
        }
      }
      const [withFigures, withoutFigures] = variants.map((variant) => aggregate(variant.results)) as [Figures | null, Figures | null];
      const ratio = withFigures && withoutFigures && withoutFigures.rps > 0 ? round(withFigures.rps / withoutFigures.rps, 3) : null;
      report.scenarios.push({ name: scenario.name, with: withFigures, without: withoutFigures, ratio });
      report.errors += (withFigures?.errors ?? 0) + (withoutFigures?.errors ?? 0);
    } finally {
      await Promise.all(handles.map((handle) => handle.stop()));
    }
  }
  return report;
}

export function formatObservability(report: ObservabilityReport): string {
  const rows = report.scenarios.map((s) => [
    s.name.padEnd(20),
    String(s.with?.rps ?? '-').padStart(8), `${s.with?.p99_ms ?? '-'}`.padStart(6),
    String(s.without?.rps ?? '-').padStart(8), `${s.without?.p99_ms ?? '-'}`.padStart(6),
    (s.ratio === null ? '-' : s.ratio.toFixed(3)).padStart(6),
    `  with [${s.with?.runs.join(', ') ?? ''}]  without [${s.without?.runs.join(', ') ?? ''}]`,
  ].join(' '));
  return [
    `${'scenario'.padEnd(20)} ${'with rps'.padStart(8)} ${'p99'.padStart(6)} ${'w/o rps'.padStart(8)} ${'p99'.padStart(6)} ${'ratio'.padStart(6)}  rps per run`,
    ...rows,
    'with: as configured by default (metrics, audit events); w/o: LATCHKEY_METRICS=off LATCHKEY_AUDIT=off; ratio: with/without (budget ≥ 0.95)',
  ].join('\n');
}
