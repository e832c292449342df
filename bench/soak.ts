import type { BenchOptions, Launch } from './bench-options.ts';
import { round, runHttp, type RunResult } from './load.ts';
import { basicAuthorization, RS, SVC } from './oauth-client.ts';
import { introspectionRequest, prepareIntrospection } from './scenarios.ts';
import type { ServerStats } from './server-control.ts';

/**
 * `--soak`: Latchkey at saturation for --soak-minutes (default 5), each of
 * the 64 connections alternating a client_credentials token request and an
 * introspection. RSS and the event-loop delay (measured inside the server
 * with perf_hooks.monitorEventLoopDelay, over the minute before) are read
 * at minute 1 and at the last minute, RSS also every 30 s. Budget: RSS
 * below 250 MB, growing < 10 % from minute 1 to the end, no errors.
 */
export interface SoakReport {
  errors: number;
  minutes: number;
  load: RunResult;
  first_minute: ServerStats;
  last_minute: ServerStats;
  rss_series_mb: { at_s: number; rss_mb: number }[];
  rss_growth_pct: number;
  budget: { target: string; met: boolean };
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

export async function runSoak(launch: Launch, options: BenchOptions): Promise<SoakReport> {
  const server = await launch('latchkey');
  try {
    const target = { name: 'latchkey' as const, origin: server.origin };
    await prepareIntrospection(target);
    const seconds = Math.round(options.soakMinutes * 60);
    const series: SoakReport['rss_series_mb'] = [];
    const started = performance.now();
    const at = (s: number) => round((performance.now() - started) / 1000, 0) >= s;
    let firstMinute: ServerStats | undefined;
    let lastMinute: ServerStats | undefined;
    let resetForLast = false;

    await server.reset();
    const sampler = setInterval(() => {
      void (async () => {
        const elapsed = round((performance.now() - started) / 1000, 0);
        if (!firstMinute && at(60)) { firstMinute = await server.stats(); await server.reset(); }
        if (!resetForLast && at(seconds - 60) && elapsed >= 61) { resetForLast = true; await server.reset(); }
        if (!lastMinute && at(seconds - 2)) lastMinute = await server.stats();
        if (elapsed % 30 === 0) series.push({ at_s: elapsed, rss_mb: (await server.stats()).rss_mb });
      })().catch((error: Error) => process.stderr.write(`soak: reading stats failed: ${error.message}\n`));
    }, 1000);
    let load: RunResult;
    try {
      load = await runHttp({
        origin: target.origin,
        duration: seconds,
        connections: options.connections,
        request: [
          { method: 'POST', path: '/token', headers: { ...FORM, authorization: basicAuthorization(SVC) }, body: 'grant_type=client_credentials&scope=api%3Aread' },
          introspectionRequest(target, RS),
        ],
        check: (body) => body.includes('"access_token"') || body.includes('"active":true'),
      });
    } finally {
      clearInterval(sampler);
    }
    lastMinute ??= await server.stats();
    firstMinute ??= lastMinute;
    const growth = round((100 * (lastMinute.rss_mb - firstMinute.rss_mb)) / firstMinute.rss_mb, 1);
    const met = load.errors === 0 && lastMinute.rss_mb < 250 && growth < 10;
    const report: SoakReport = {
      errors: load.errors,
      minutes: options.soakMinutes,
      load,
      first_minute: firstMinute,
      last_minute: lastMinute,
      rss_series_mb: series,
      rss_growth_pct: growth,
      budget: { target: 'RSS < 250 MB, growth < 10 % from minute 1 to the end, no errors', met },
    };
    process.stdout.write([
      '',
      `soak: ${options.soakMinutes} min, ${load.rps}/s (token + introspection alternating), p50 ${load.p50_ms} ms, p99 ${load.p99_ms} ms, errors ${load.errors}${load.detail ? ` (${load.detail})` : ''}`,
      `  minute 1:    RSS ${firstMinute.rss_mb} MB, heap ${firstMinute.heap_used_mb} MB, event-loop delay p50 ${firstMinute.eld.p50_ms} ms, p99 ${firstMinute.eld.p99_ms} ms, max ${firstMinute.eld.max_ms} ms`,
      `  last minute: RSS ${lastMinute.rss_mb} MB, heap ${lastMinute.heap_used_mb} MB, event-loop delay p50 ${lastMinute.eld.p50_ms} ms, p99 ${lastMinute.eld.p99_ms} ms, max ${lastMinute.eld.max_ms} ms`,
      `  RSS growth ${growth} %; RSS every 30 s: ${series.map((s) => s.rss_mb).join(' ')}`,
      `  budget (${report.budget.target}): ${met ? 'met' : 'MISSED'}`,
      '',
    ].join('\n'));
    return report;
  } finally {
    await server.stop();
  }
}
