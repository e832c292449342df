import autocannon from 'autocannon';

/**
 * The two load generators. HTTP-level scenarios use autocannon (keep-alive
 * connections, one request in flight per connection, bounded in time);
 * multi-step scenarios (the code flow) use a Node loop at a fixed
 * concurrency. Both report the same figures.
 */
export interface RunResult {
  /** Good answers per second (2xx whose body passed the check; flows/s for loops). */
  rps: number;
  p50_ms: number;
  p99_ms: number;
  /** Connection errors + timeouts + non-2xx + bodies that failed the check. */
  errors: number;
  /** Answers (or flows) counted, good and bad. */
  count: number;
  /** Status codes and a sample error, to say what went wrong. */
  detail?: string;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Called for every request to vary it (a token from a pool, …). */
  setupRequest?: (request: autocannon.Request) => autocannon.Request;
  onResponse?: (status: number, body: string) => void;
}

export async function runHttp({ origin, duration, connections, request, check }: {
  origin: string;
  duration: number;
  connections: number;
  /** Several requests: each connection sends them in turn (a mixed load). */
  request: HttpRequest | HttpRequest[];
  /** A response body that fails this counts as an error (a 200 with the wrong content is not a success). */
  check?: (body: string) => boolean;
}): Promise<RunResult> {
  const result = await autocannon({
    url: origin,
    connections,
    pipelining: 1,
    duration,
    timeout: 10,
    requests: (Array.isArray(request) ? request : [request]).map((r) => ({
      method: r.method,
      path: r.path,
      headers: r.headers ?? {},
      ...(r.body !== undefined ? { body: r.body } : {}),
      ...(r.setupRequest ? { setupRequest: r.setupRequest } : {}),
      ...(r.onResponse ? { onResponse: r.onResponse } : {}),
    })),
    ...(check ? { verifyBody: (body: unknown) => check(String(body)) } : {}),
  });
  const seconds = result.duration || duration;
  const failed = result.errors + result.timeouts + result.non2xx + result.mismatches;
  const codes = Object.entries(result.statusCodeStats ?? {}).map(([code, { count }]) => `${code}×${count}`).join(' ');
  return {
    rps: round((result['2xx'] - result.mismatches) / seconds),
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: failed,
    count: result.requests.total,
    ...(failed ? { detail: `${codes}; errors ${result.errors}, timeouts ${result.timeouts}, mismatches ${result.mismatches}` } : {}),
  };
}

/** Runs `task` in `concurrency` parallel loops until `duration` seconds have passed. */
export async function runLoop({ duration, concurrency, task }: {
  duration: number;
  concurrency: number;
  task: () => Promise<void>;
}): Promise<RunResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const deadline = started + duration * 1000;
  const loop = async () => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      try {
        await task();
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors += 1;
        firstError ??= (error as Error).message.slice(0, 300);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  const seconds = (performance.now() - started) / 1000;
  return {
    rps: round(latencies.length / seconds),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    errors,
    count: latencies.length + errors,
    ...(firstError ? { detail: `${errors} failed, first: ${firstError}` } : {}),
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
