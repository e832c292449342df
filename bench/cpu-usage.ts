import { readdirSync, readFileSync } from 'node:fs';

/**
 * Where the machine's CPU went during a run, from /proc (Linux): the server
 * child, all PostgreSQL processes, and this process (the load generator),
 * in cores (CPU seconds per wall-clock second). Elsewhere it reports nothing.
 */
const TICKS_PER_SECOND = 100;

function cpuTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

function postgresTicks(): Map<number, number> {
  const ticks = new Map<number, number>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return ticks;
  }
  for (const name of pids) {
    try {
      if (readFileSync(`/proc/${name}/comm`, 'utf8').trim() !== 'postgres') continue;
      const t = cpuTicks(Number(name));
      if (t !== undefined) ticks.set(Number(name), t);
    } catch { /* gone */ }
  }
  return ticks;
}

export interface CpuShare {
  server_cores: number;
  postgres_cores: number;
  load_generator_cores: number;
}

/** Starts measuring; the returned function gives the shares since then. */
export function measureCpu(serverPid: number): () => CpuShare | undefined {
  const started = performance.now();
  const server = cpuTicks(serverPid);
  const postgres = postgresTicks();
  const self = process.cpuUsage();
  return () => {
    const seconds = (performance.now() - started) / 1000;
    const serverEnd = cpuTicks(serverPid);
    if (server === undefined || serverEnd === undefined || seconds <= 0) return undefined;
    let pgTicks = 0;
    for (const [pid, ticks] of postgresTicks()) pgTicks += ticks - (postgres.get(pid) ?? 0);
    const own = process.cpuUsage(self);
    const cores = (value: number) => Math.round((100 * value) / seconds) / 100;
    return {
      server_cores: cores((serverEnd - server) / TICKS_PER_SECOND),
      postgres_cores: cores(pgTicks / TICKS_PER_SECOND),
      load_generator_cores: cores((own.user + own.system) / 1e6),
    };
  };
}
