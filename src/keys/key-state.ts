import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KeyLoadError } from '../errors/index.ts';

/**
 * The schedule of staged rotation, kept in the keys folder next to the keys
 * (not in a process) so that every instance sharing the folder reaches the
 * same decision at the same time: a key is published before it signs, and
 * stays published after it stops signing until the tokens it signed expired.
 * Keys without an entry are plainly active.
 */
export interface KeySchedule {
  /** Published from now, signs from then. */
  activates_at?: string;
  /** Stops signing then (its successor's activation). */
  retires_at?: string;
  /** Leaves the JWKS then: every token it signed (ID tokens, JWT access tokens: src/oidc/signed-token-lifetime.ts) has expired. */
  drop_at?: string;
}

export interface KeyStateFile {
  version: 1;
  keys: Record<string, KeySchedule>;
}

export const STATE_FILE = 'key-state.json';

export type KeyStatus = 'active' | 'next' | 'retired' | 'expired' | 'verify-only';

export function statusAt(schedule: KeySchedule | undefined, now: number): Exclude<KeyStatus, 'verify-only'> {
  if (!schedule) return 'active';
  if (schedule.drop_at && Date.parse(schedule.drop_at) <= now) return 'expired';
  if (schedule.retires_at && Date.parse(schedule.retires_at) <= now) return 'retired';
  if (schedule.activates_at && Date.parse(schedule.activates_at) > now) return 'next';
  return 'active';
}

export async function readKeyState(keysDir: string): Promise<KeyStateFile> {
  const file = path.join(keysDir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, keys: {} };
    throw new KeyLoadError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  try {
    const parsed = JSON.parse(text) as KeyStateFile;
    if (parsed.version !== 1 || typeof parsed.keys !== 'object' || parsed.keys === null) throw new Error('shape');
    for (const schedule of Object.values(parsed.keys)) {
      for (const at of [schedule.activates_at, schedule.retires_at, schedule.drop_at]) {
        if (at !== undefined && Number.isNaN(Date.parse(at))) throw new Error('date');
      }
    }
    return parsed;
  } catch {
    throw new KeyLoadError(`${file}: not a valid key schedule (edit it only through \`latchkey keys rotate\`)`);
  }
}

/** Atomic replace: a reader on another instance sees the old file or the new one, never half. */
export async function writeKeyState(keysDir: string, state: KeyStateFile): Promise<void> {
  const file = path.join(keysDir, STATE_FILE);
  const temporary = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(temporary, file);
}
