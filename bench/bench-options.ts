import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchDatabase } from './bench-database.ts';
import { startServer, type ServerHandle, type ServerName } from './server-process.ts';

/** Command-line options of bench/run.ts (see bench/README.md). */
export interface BenchOptions {
  mode: 'default' | 'smoke' | 'profile' | 'scale' | 'soak' | 'observability';
  duration: number;
  runs: number;
  warmup: number;
  connections: number;
  flowConcurrency: number;
  only: string[] | undefined;
  pin: boolean;
  soakMinutes: number;
  /** --observability: what the second server turns off (both by default), to measure each part apart. */
  without: ('metrics' | 'audit')[];
}

export const USAGE = `usage: npm run bench -- [options]
  (no mode)              every scenario, Latchkey and the baseline alternating
  --smoke                every scenario once for ~2 s; exit 1 only on errors/non-2xx
  --profile              CPU profiles + SQL statements per request (client_credentials, introspection)
  --scale                1M live + expired tokens preloaded: figures vs the empty table, sweeper
  --soak                 saturation for --soak-minutes (5): RSS and event-loop delay at minute 1 and the last
  --client-auth          interleaved timing of failed client authentications (unknown client vs wrong secrets)
  --observability        client_credentials and introspection, default Latchkey vs LATCHKEY_METRICS=off LATCHKEY_AUDIT=off
  --duration <s>         seconds per run (10; smoke 2)
  --runs <n>             runs per server and scenario (3; smoke 1)
  --warmup <s>           untimed warm-up per server and scenario (2; smoke 0)
  --connections <n>      autocannon keep-alive connections (64)
  --flow-concurrency <n> parallel code flows (8)
  --only <a,b>           only these scenarios
  --without <parts>      --observability: turn off only metrics or audit in the second server (metrics,audit)
  --no-pin               do not pin processes to cores with taskset`;

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean' }, profile: { type: 'boolean' }, scale: { type: 'boolean' }, soak: { type: 'boolean' }, observability: { type: 'boolean' },
      duration: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' }, connections: { type: 'string' },
      'flow-concurrency': { type: 'string' }, only: { type: 'string' }, 'no-pin': { type: 'boolean' },
      'soak-minutes': { type: 'string' }, without: { type: 'string' }, help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const modes = (['smoke', 'profile', 'scale', 'soak', 'observability'] as const).filter((m) => values[m]);
  if (modes.length > 1) throw new Error(`choose one mode, not ${modes.join(' and ')}`);
  const mode = modes[0] ?? 'default';
  const smoke = mode === 'smoke';
  const number = (value: string | undefined, fallback: number, name: string) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number ≥ 0`);
    return n;
  };
  return {
    mode,
    duration: number(values.duration, smoke ? 2 : 10, 'duration'),
    runs: Math.max(1, Math.round(number(values.runs, smoke || mode === 'profile' ? 1 : 3, 'runs'))),
    warmup: number(values.warmup, smoke ? 0 : 2, 'warmup'),
    connections: Math.max(1, Math.round(number(values.connections, 64, 'connections'))),
    flowConcurrency: Math.max(1, Math.round(number(values['flow-concurrency'], 8, 'flow-concurrency'))),
    only: values.only?.split(',').map((s) => s.trim()).filter(Boolean),
    pin: !values['no-pin'],
    soakMinutes: number(values['soak-minutes'], 5, 'soak-minutes'),
    without: observabilityParts(values.without),
  };
}

function observabilityParts(value: string | undefined): ('metrics' | 'audit')[] {
  const parts = (value ?? 'metrics,audit').split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = parts.filter((part) => part !== 'metrics' && part !== 'audit');
  if (unknown.length || parts.length === 0) throw new Error(`--without takes metrics, audit or both, not ${value}`);
  return parts as ('metrics' | 'audit')[];
}

const SCRIPTS: Record<ServerName, string> = {
  latchkey: fileURLToPath(new URL('./latchkey-server.ts', import.meta.url)),
  baseline: fileURLToPath(new URL('./baseline-server.ts', import.meta.url)),
};

/** Starts a server child on core 0 (when pinning), Latchkey on the bench database. */
export type Launch = (name: ServerName, env?: Record<string, string>) => Promise<ServerHandle>;

export function launcher(database: BenchDatabase, keysDir: string, pinned: boolean): Launch {
  return (name, env = {}) => startServer({
    name,
    script: SCRIPTS[name],
    env: name === 'latchkey' ? { BENCH_DATABASE_URL: database.url, BENCH_KEYS_DIR: keysDir, ...env } : env,
    core: pinned ? 0 : undefined,
  });
}
