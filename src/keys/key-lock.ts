import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KeyChangeRefusedError } from '../errors/index.ts';

/**
 * One key change at a time in a keys folder: `keys generate`, `keys rotate`
 * and their admin routes read the folder, decide, and write a key file and
 * the schedule; two of them interleaved would both find "nothing staged" and
 * both stage. The lock is a file in the folder itself, created with `wx`
 * (atomic on local and NFS v3+ file systems), so it holds between requests
 * of one server, between servers sharing the folder, and against the CLI.
 *
 * A holder that died (killed mid-rotation) leaves its file behind: a lock
 * older than STALE_MS is taken over. A change takes about a second (an RSA
 * key, a few small files, and for a rotation the token lifetimes read from
 * the database, which the CLI opens first), so minutes cannot cut a live
 * one short; until then a second change is refused naming the file.
 */
export const LOCK_FILE = 'key-change.lock';

const STALE_MS = 5 * 60_000;
/** How long a second change waits for the first before it is refused, and how often it looks. */
const WAIT_MS = 10_000;
const RETRY_MS = 50;

export async function withKeyChangeLock<T>(keysDir: string, change: () => Promise<T>): Promise<T> {
  const file = path.join(keysDir, LOCK_FILE);
  const token = randomBytes(12).toString('hex');
  const until = Date.now() + WAIT_MS;
  await mkdir(keysDir, { recursive: true, mode: 0o700 });
  while (!(await tryCreate(file, token))) {
    if (await isStale(file)) {
      await unlink(file).catch(() => {});
      continue;
    }
    if (Date.now() > until) throw new KeyChangeRefusedError('busy', `another key change has been under way for ${WAIT_MS / 1000} s (${file}); retry later`);
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
  try {
    return await change();
  } finally {
    // Only our own lock: had it been taken over as stale, the file is another holder's now.
    if ((await readFile(file, 'utf8').catch(() => undefined)) === token) await unlink(file).catch(() => {});
  }
}

async function tryCreate(file: string, token: string): Promise<boolean> {
  try {
    await writeFile(file, token, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

async function isStale(file: string): Promise<boolean> {
  const info = await stat(file).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > STALE_MS;
}
