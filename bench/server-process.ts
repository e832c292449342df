import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';
import type { ServerStats } from './server-control.ts';

/**
 * The parent side of bench/server-control.ts: starts a server script as a
 * child process (pinned to a core with taskset when there is one), waits
 * for its "ready" line and talks to it over stdin/stdout. Every child started
 * here is tracked so that stopAllServers() can end them on any exit path.
 */
export type ServerName = 'latchkey' | 'baseline';

export interface ServerHandle {
  name: ServerName;
  origin: string;
  pid: number;
  stats(): Promise<ServerStats>;
  /** Restarts the event-loop delay histogram (and the query counts). */
  reset(): Promise<void>;
  /** Starts a CPU profile in the child; profileStop writes it (a .cpuprofile) to `file`. */
  profileStart(): Promise<void>;
  profileStop(file: string): Promise<void>;
  /** Asks the child to close and exit; kills it if it has not within 15 s. */
  stop(): Promise<void>;
}

const running = new Set<ServerHandle>();
export const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/** Pins this process (all its threads) to one core; false when taskset is missing. */
export function pinSelf(core: number): boolean {
  if (!hasTaskset) return false;
  return spawnSync('taskset', ['-a', '-cp', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

type StartOptions = Parameters<typeof startServerOnce>[0];

/**
 * A child picks a free port, then listens on it: another process can take
 * the port in between (EADDRINUSE). A child that dies before "ready" is
 * started again, at most twice, with a new port.
 */
export async function startServer(options: StartOptions): Promise<ServerHandle> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startServerOnce(options);
    } catch (error) {
      if (attempt >= 3 || !/exited \(code/.test((error as Error).message)) throw error;
      process.stderr.write(`bench: ${options.name} exited before it was ready; starting it again\n`);
    }
  }
}

async function startServerOnce({ name, script, env = {}, nodeFlags = [], core, readyTimeoutMs = 60_000 }: {
  name: ServerName;
  script: string;
  env?: Record<string, string>;
  nodeFlags?: string[];
  /** The CPU core to pin the child to; undefined = not pinned. */
  core?: number | undefined;
  readyTimeoutMs?: number;
}): Promise<ServerHandle> {
  const nodeArgs = [...nodeFlags, script];
  const pinned = core !== undefined && hasTaskset;
  const child = pinned
    ? spawn('taskset', ['-c', String(core), process.execPath, ...nodeArgs], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } })
    : spawn(process.execPath, nodeArgs, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });

  const waiting = new Map<string, Array<(message: Record<string, unknown>) => void>>();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = readline.createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(line);
    } catch {
      process.stderr.write(`[${name}] ${line}\n`);
      return;
    }
    const queue = waiting.get(String(message['event']));
    queue?.shift()?.(message);
  });
  const next = (event: string, timeoutMs = 10_000) => new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no "${event}" answer within ${timeoutMs} ms`)), timeoutMs);
    const queue = waiting.get(event) ?? [];
    queue.push((message) => { clearTimeout(timer); resolve(message); });
    waiting.set(event, queue);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`${name} exited (code ${code}) before answering "${event}"`)); });
  });
  const command = (text: string) => { if (child.stdin!.writable) child.stdin!.write(`${text}\n`); };
  child.stdin!.on('error', () => {}); // a child that died already: its exit is reported elsewhere

  let stopping: Promise<void> | undefined;
  const handle: ServerHandle = {
    name,
    origin: '',
    pid: child.pid!,
    stats: () => { const answer = next('stats'); command('stats'); return answer as unknown as Promise<ServerStats>; },
    reset: async () => { const answer = next('reset'); command('reset'); await answer; },
    profileStart: async () => { const answer = next('profile'); command('profile-start'); failOn(await answer); },
    profileStop: async (file) => { const answer = next('profile', 60_000); command(`profile-stop ${file}`); failOn(await answer); },
    stop: () => {
      stopping ??= stopChild(child, exited, command).finally(() => running.delete(handle));
      return stopping;
    },
  };
  running.add(handle);
  try {
    const ready = await next('ready', readyTimeoutMs);
    return Object.assign(handle, { origin: `http://127.0.0.1:${ready['port']}` });
  } catch (error) {
    await handle.stop();
    throw error;
  }
}

function failOn(message: Record<string, unknown>): void {
  if (message['error']) throw new Error(String(message['error']));
}

/** Runs a script to completion as a child (pinned like the servers) and returns the JSON object it prints last. */
export async function runScript({ script, env = {}, core }: { script: string; env?: Record<string, string>; core?: number | undefined }): Promise<Record<string, unknown>> {
  const args = [process.execPath, script];
  const child = core !== undefined && hasTaskset
    ? spawn('taskset', ['-c', String(core), ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } })
    : spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  const handle: ServerHandle = {
    name: 'latchkey', origin: '', pid: child.pid!,
    stats: () => Promise.reject(new Error('not a server')),
    reset: async () => {}, profileStart: async () => {}, profileStop: async () => {},
    stop: async () => { if (child.exitCode === null) child.kill('SIGKILL'); },
  };
  running.add(handle);
  let output = '';
  child.stdout!.on('data', (chunk) => { output += String(chunk); });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  running.delete(handle);
  const last = output.trim().split('\n').pop() ?? '';
  if (code !== 0) throw new Error(`${script} exited with code ${code}`);
  return JSON.parse(last) as Record<string, unknown>;
}

async function stopChild(child: ChildProcess, exited: Promise<number | null>, command: (text: string) => void): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  command('exit');
  child.stdin!.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

export async function stopAllServers(): Promise<void> {
  await Promise.allSettled([...running].map((server) => server.stop()));
}

/** Synchronous last resort (process 'exit' handler): kills what is still running. */
export function killAllServersNow(): void {
  for (const server of running) {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch { /* already gone */ }
  }
}
