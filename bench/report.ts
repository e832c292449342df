import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, round, type RunResult } from './load.ts';

/**
 * Turns runs into the figures the issue asks for (median of the runs,
 * errors summed), checks them against the budget (informational: the
 * benchmark never fails on timing), prints the table and writes the JSON.
 */
export interface Figures {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  /** rps of each run, in order. */
  runs: number[];
  detail?: string;
}

export interface ScenarioReport {
  name: string;
  latchkey: Figures | null;
  baseline: Figures | null;
  ratio: number | null;
  note: string;
  budget?: { target: string; met: boolean };
}

export const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

export function aggregate(runs: RunResult[]): Figures | null {
  if (runs.length === 0) return null;
  const details = runs.map((r) => r.detail).filter(Boolean);
  return {
    rps: round(median(runs.map((r) => r.rps))),
    p50_ms: round(median(runs.map((r) => r.p50_ms))),
    p99_ms: round(median(runs.map((r) => r.p99_ms))),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
    runs: runs.map((r) => r.rps),
    ...(details.length ? { detail: details.join(' | ') } : {}),
  };
}

/** The performance budget of issue 5 (same machine, PostgreSQL sharing it). */
const BUDGET: Record<string, { ratio?: number; p99?: number; rps?: number }> = {
  client_credentials: { ratio: 0.7, p99: 50 },
  introspection: { ratio: 0.8, p99: 30 },
  refresh: { ratio: 0.5 },
  auth_code_flow: { rps: 40 },
};

export function scenarioReport(name: string, note: string, latchkey: Figures | null, baseline: Figures | null, all: ScenarioReport[]): ScenarioReport {
  const ratio = latchkey && baseline && baseline.rps > 0 ? round(latchkey.rps / baseline.rps, 2) : null;
  const report: ScenarioReport = { name, latchkey, baseline, ratio, note };
  const rule = BUDGET[name];
  if (rule && latchkey) {
    const parts: string[] = [];
    let met = latchkey.errors === 0;
    if (rule.ratio !== undefined) { parts.push(`ratio ≥ ${rule.ratio}`); met &&= ratio !== null && ratio >= rule.ratio; }
    if (rule.p99 !== undefined) { parts.push(`p99 < ${rule.p99} ms`); met &&= latchkey.p99_ms < rule.p99; }
    if (rule.rps !== undefined) { parts.push(`≥ ${rule.rps}/s`); met &&= latchkey.rps >= rule.rps; }
    report.budget = { target: [...parts, 'no errors'].join(', '), met };
  }
  const plain = all.find((s) => s.name === 'introspection')?.latchkey;
  if (name === 'introspection_during_logins' && latchkey && plain) {
    report.budget = { target: `p99 ≤ 2× plain introspection (${round(2 * plain.p99_ms)} ms), no errors`, met: latchkey.errors === 0 && latchkey.p99_ms <= 2 * plain.p99_ms };
  }
  return report;
}

export function formatTable(reports: ScenarioReport[]): string {
  const header = ['scenario', 'LK rps', 'p50', 'p99', 'err', 'base rps', 'p50', 'p99', 'err', 'ratio', 'budget'];
  const cell = (f: Figures | null, key: keyof Omit<Figures, 'runs' | 'detail'>) => (f ? String(f[key]) : '—');
  const rows = reports.map((r) => [
    r.name,
    r.latchkey ? String(r.latchkey.rps) : 'null', cell(r.latchkey, 'p50_ms'), cell(r.latchkey, 'p99_ms'), cell(r.latchkey, 'errors'),
    r.baseline ? String(r.baseline.rps) : 'null', cell(r.baseline, 'p50_ms'), cell(r.baseline, 'p99_ms'), cell(r.baseline, 'errors'),
    r.ratio === null ? '—' : r.ratio.toFixed(2),
    r.budget ? `${r.budget.met ? 'met' : 'MISSED'}: ${r.budget.target}` : '',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i === 0 || i === row.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const notes = reports.flatMap((r) => [
    `  ${r.name}: ${r.note}`,
    ...(r.latchkey?.detail ? [`    latchkey: ${r.latchkey.detail}`] : []),
    ...(r.baseline?.detail ? [`    baseline: ${r.baseline.detail}`] : []),
  ]);
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    'rps: median of the runs (good answers/s; flows/s for auth_code_flow); p50/p99 in ms (medians of the runs); err: summed over the runs; ratio: latchkey/baseline rps',
    ...notes,
  ].join('\n');
}

export async function writeResults(result: object, suffix = ''): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${new Date().toISOString().replace(/[:.]/g, '-')}${suffix}.json`);
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
