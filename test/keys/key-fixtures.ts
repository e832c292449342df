import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Test } from 'tap';

/**
 * Throwaway key material made at test time with openssl and Java's keytool,
 * in the formats people bring (README "Keys"); nothing private is committed.
 */
export interface Fixtures {
  dir: string;
  /** Runs openssl in the fixture folder. */
  openssl(...args: string[]): string;
  keytool(...args: string[]): void;
  file(name: string): string;
}

export async function keyFixtures(t: Test): Promise<Fixtures> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'latchkey-key-fixtures-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return {
    dir,
    openssl: (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString(),
    keytool: (...args) => { execFileSync('keytool', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }); },
    file: (name) => path.join(dir, name),
  };
}

export const hasKeytool = (() => {
  try {
    execFileSync('keytool', ['-help'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** A self-signed certificate for a key file. */
export function selfSigned(f: Fixtures, key: string, cert: string, cn = 'latchkey-test'): void {
  f.openssl('req', '-new', '-x509', '-key', key, '-subj', `/CN=${cn}`, '-days', '2', '-out', cert);
}
