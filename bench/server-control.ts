import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import readline from 'node:readline';

/**
 * The child side of the line protocol between bench/run.ts and a server
 * process (bench/latchkey-server.ts, bench/baseline-server.ts).
 *
 *   child  → parent (stdout)  {"event":"ready","port":N}
 *   parent → child  (stdin)   stats | reset | profile-start | profile-stop <file> | exit
 *   child  → parent (stdout)  {"event":"stats",…} | {"event":"reset"} | {"event":"profile"}
 *
 * stdout carries only these JSON lines (server logs go to stderr). When
 * stdin closes, because the parent exited or crashed, the child shuts down
 * too, so no server outlives its benchmark. profile-start/-stop record a
 * V8 CPU profile (the same .cpuprofile as `node --cpu-prof`) through the
 * inspector, limited to the measured window instead of the whole process.
 */
export interface ServerStats {
  event: 'stats';
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  /** Memory of C++ objects bound to JS (Buffers, …). */
  external_mb: number;
  /**
   * Event-loop delay since the last reset, measured inside the server process:
   * how late the sampling timer (every RESOLUTION_MS) fired, i.e. the
   * histogram's values minus the sampling interval.
   */
  eld: { mean_ms: number; p50_ms: number; p99_ms: number; max_ms: number };
  /** SQL statements sent since the last reset, by statement (only when counting is on). */
  queries?: Record<string, number>;
}

const RESOLUTION_MS = 10;

export function serveUntilTold(port: number, close: () => Promise<void>, extraStats: {
  queries?: () => Record<string, number>;
  resetQueries?: () => void;
} = {}): void {
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    delay.disable();
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    try {
      await close();
    } catch (error) {
      process.stderr.write(`bench server: close failed: ${(error as Error).message}\n`);
    }
    process.exit(0);
  };

  let profiler: Session | undefined;
  const startProfile = async () => {
    profiler = new Session();
    profiler.connect();
    await profiler.post('Profiler.enable');
    await profiler.post('Profiler.setSamplingInterval', { interval: 1000 });
    await profiler.post('Profiler.start');
  };
  const stopProfile = async (file: string) => {
    if (!profiler) return;
    const { profile } = await profiler.post('Profiler.stop');
    profiler.disconnect();
    profiler = undefined;
    await writeFile(file, JSON.stringify(profile));
  };

  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = line.trim();
    if (command === 'profile-start' || command.startsWith('profile-stop ')) {
      const work = command === 'profile-start' ? startProfile() : stopProfile(command.slice('profile-stop '.length));
      work.then(() => send({ event: 'profile' }), (error: Error) => send({ event: 'profile', error: error.message }));
      return;
    }
    if (command === 'stats') {
      const memory = process.memoryUsage();
      const ms = (ns: number) => round(Math.max(0, ns / 1e6 - RESOLUTION_MS));
      const stats: ServerStats = {
        event: 'stats',
        rss_mb: round(memory.rss / 2 ** 20),
        heap_used_mb: round(memory.heapUsed / 2 ** 20),
        heap_total_mb: round(memory.heapTotal / 2 ** 20),
        external_mb: round(memory.external / 2 ** 20),
        eld: { mean_ms: ms(delay.mean), p50_ms: ms(delay.percentile(50)), p99_ms: ms(delay.percentile(99)), max_ms: ms(delay.max) },
        ...(extraStats.queries ? { queries: extraStats.queries() } : {}),
      };
      send(stats);
    } else if (command === 'reset') {
      delay.reset();
      extraStats.resetQueries?.();
      send({ event: 'reset' });
    } else if (command === 'exit') {
      void shutdown();
    }
  });
  lines.on('close', () => void shutdown());
  process.once('SIGTERM', () => void shutdown());
  process.once('SIGINT', () => void shutdown());
  send({ event: 'ready', port });
}

function send(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function round(value: number): number {
  return Number.isFinite(value) ? Math.round(value * 100) / 100 : 0;
}
