import http from 'node:http';
import { createLogger } from '../src/log/logger.ts';
import { openServices } from '../src/latchkey.ts';
import { testConfig } from '../test/helpers/latchkey-under-test.ts';
import { demoSetup, SECRETS } from '../test/helpers/setups.ts';
import type { BenchDatabase } from './bench-database.ts';
import type { Launch } from './bench-options.ts';
import { median, percentile, round } from './load.ts';
import { basicAuthorization } from './oauth-client.ts';

/**
 * `--client-auth`: does the time of a failed client authentication tell
 * which clients exist, or how their secrets are stored? One Latchkey (a
 * child pinned to core 0, like every benchmark's) gets one request at a
 * time from this process, the kinds below in a new random order every round,
 * so that drift (other processes, GC, CPU clock) hits every kind alike.
 * Each kind's median and p90 are printed; the four failures should be
 * within noise of each other, the two successes far below them.
 *
 * The brakes allow a (client, address) 10 failures a minute, so each round
 * speaks from a loopback address of its own, 9 rounds per address
 * (127.0.0.10 and up), as many clients behind different addresses would.
 */
export interface ClientAuthTimingReport {
  rounds: number;
  errors: number;
  kinds: { kind: string; expected: number; n: number; median_ms: number; p90_ms: number; min_ms: number }[];
}

interface Kind {
  name: string;
  credentials: readonly [string, string];
  expected: number;
}

const ROUNDS_PER_ADDRESS = 9;
const BODY = 'grant_type=client_credentials&scope=api%3Aread';

export async function runClientAuthTiming(launch: Launch, database: BenchDatabase, keysDir: string, { rounds, warmupRounds }: { rounds: number; warmupRounds: number }): Promise<ClientAuthTimingReport> {
  const server = await launch('latchkey');
  try {
    const generated = await addGeneratedClient(database, keysDir);
    const kinds: Kind[] = [
      { name: 'unknown client', credentials: ['no-such-client', 'wrong-secret-of-some-length'], expected: 401 },
      { name: 'generated secret ($hmac), wrong', credentials: ['bench-generated', 'wrong-secret-of-some-length'], expected: 401 },
      { name: 'chosen secret (argon2id), wrong', credentials: ['svc', 'wrong-secret-of-some-length'], expected: 401 },
      { name: 'secret sent to a public client', credentials: ['spa1', 'wrong-secret-of-some-length'], expected: 401 },
      { name: 'generated secret, right', credentials: ['bench-generated', generated], expected: 200 },
      { name: 'chosen secret, right (cached)', credentials: ['svc', SECRETS.svc], expected: 200 },
    ];
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const samples = new Map<string, number[]>(kinds.map((k) => [k.name, []]));
    let errors = 0;
    let firstError: string | undefined;
    for (let n = -warmupRounds; n < rounds; n += 1) {
      const from = `127.0.0.${10 + Math.floor((n + warmupRounds) / ROUNDS_PER_ADDRESS)}`;
      for (const kind of shuffled(kinds)) {
        const { status, ms } = await timedToken(server.origin, kind.credentials, from, agent);
        if (status !== kind.expected) {
          errors += 1;
          firstError ??= `${kind.name}: HTTP ${status}, expected ${kind.expected}`;
        } else if (n >= 0) {
          samples.get(kind.name)!.push(ms);
        }
      }
    }
    agent.destroy();
    if (firstError) process.stderr.write(`client-auth: ${errors} unexpected answers, first: ${firstError}\n`);
    return {
      rounds,
      errors,
      kinds: kinds.map((kind) => {
        const ms = samples.get(kind.name)!;
        return { kind: kind.name, expected: kind.expected, n: ms.length, median_ms: round(median(ms), 2), p90_ms: round(percentile(ms, 90), 2), min_ms: round(Math.min(...ms), 2) };
      }),
    };
  } finally {
    await server.stop();
  }
}

export function formatClientAuthTiming(report: ClientAuthTimingReport): string {
  const reference = report.kinds.find((k) => k.kind.startsWith('chosen secret (argon2id), wrong'))?.median_ms ?? 0;
  const lines = [`kind${' '.repeat(30)}status     n   median ms    p90 ms    min ms   median − argon2id wrong`];
  for (const k of report.kinds) {
    const delta = round(k.median_ms - reference, 2);
    lines.push(`${k.kind.padEnd(34)}${String(k.expected).padStart(6)}${String(k.n).padStart(6)}${k.median_ms.toFixed(2).padStart(12)}${k.p90_ms.toFixed(2).padStart(10)}${k.min_ms.toFixed(2).padStart(10)}${`${delta >= 0 ? '+' : ''}${delta.toFixed(2)}`.padStart(26)}`);
  }
  return lines.join('\n');
}

/** A client with a secret Latchkey generated, as `latchkey clients add` makes one (the demo setup has chosen secrets only). */
async function addGeneratedClient(database: BenchDatabase, keysDir: string): Promise<string> {
  const config = testConfig({ issuer: 'http://127.0.0.1', port: 0, keysDir, databaseUrl: database.url, setup: demoSetup() });
  const services = await openServices(config, createLogger('silent'), { role: 'bench' });
  try {
    return await services.clients.addWithGeneratedSecret('default', {
      client_id: 'bench-generated', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'],
      response_types: [], redirect_uris: [], post_logout_redirect_uris: [], scope: 'api:read',
    });
  } finally {
    await services.close();
  }
}

/** One token request from `localAddress`; the time from sending to the last byte of the answer. */
function timedToken(origin: string, credentials: readonly [string, string], localAddress: string, agent: http.Agent): Promise<{ status: number; ms: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(`${origin}/token`, {
      method: 'POST', agent, localAddress,
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basicAuthorization(credentials as [string, string]), 'content-length': Buffer.byteLength(BODY) },
    }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode!, ms: performance.now() - started }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(BODY);
  });
}

function shuffled<T>(items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}
