import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EmbeddedDatabaseInUseError } from '../errors/index.ts';

/**
 * PGlite does not protect its data directory: a second process opening it
 * while the first has it open sees stale data, and when both write the
 * directory is corrupted (the next open aborts). Every process that opens the
 * embedded database takes this lock first.
 *
 * The lock is a file beside the PGlite directory (`<dataDir>/pglite.lock`),
 * created with O_EXCL, holding the owner's pid, host and role. A lock whose
 * owner no longer runs on this host is stale and is taken over, so a killed
 * process does not block the next one. A lock from another host (a data
 * directory on a shared volume) cannot be checked and is always respected.
 */
export const LOCK_FILE = 'pglite.lock';

export interface LockOwner {
  pid: number;
  hostname: string;
  /** What holds it: `server` or the CLI command line, e.g. `latchkey users add`. */
  role: string;
  since: string;
  nonce: string;
}

export interface EmbeddedLock {
  readonly file: string;
  /** Removes the lock if it is still ours. Safe to call twice. */
  release(): Promise<void>;
}

/** The refusal names who holds the database, so that a person can tell a live server from a stale lock. */
function inUse(databaseDir: string, file: string, owner: LockOwner | undefined): EmbeddedDatabaseInUseError {
  const who = !owner
    ? `another process (lock file ${file} is unreadable)`
    : owner.role === 'server'
      ? `a running server (pid ${owner.pid}${owner.hostname === os.hostname() ? '' : ` on ${owner.hostname}`})`
      : `another latchkey process (${owner.role}, pid ${owner.pid}${owner.hostname === os.hostname() ? '' : ` on ${owner.hostname}`})`;
  return new EmbeddedDatabaseInUseError(`the embedded database at ${databaseDir} is in use by ${who}; stop it or use DATABASE_URL (if no such process runs, delete ${file})`, owner);
}

/**
 * Takes the lock of the embedded database under `dataDir` (the directory that
 * holds `pglite/`), or throws EmbeddedDatabaseInUseError naming the holder.
 */
export async function acquireEmbeddedLock(dataDir: string, role: string): Promise<EmbeddedLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, LOCK_FILE);
  const databaseDir = path.join(dataDir, 'pglite');
  const owner: LockOwner = {
    pid: process.pid,
    hostname: os.hostname(),
    role,
    since: new Date().toISOString(),
    nonce: randomBytes(12).toString('base64url'),
  };

  // Two attempts: the second follows the removal of a stale lock.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    if (await createExclusively(file, `${JSON.stringify(owner)}\n`)) {
      return { file, release: () => releaseIfOurs(file, owner.nonce) };
    }
    const holder = await readOwner(file);
    if (holder === 'gone') continue; // released between our attempt and the read
    if (!holder || !isStale(holder)) throw inUse(databaseDir, file, holder);
    // Stale: remove it only if it is still the very lock we judged stale.
    await releaseIfOurs(file, holder.nonce);
  }
  throw inUse(databaseDir, file, await readOwnerOrUndefined(file));
}

async function createExclusively(file: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

async function readOwner(file: string): Promise<LockOwner | undefined | 'gone'> {
  let text;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
  try {
    const owner = JSON.parse(text) as LockOwner;
    return Number.isInteger(owner.pid) && typeof owner.hostname === 'string' && typeof owner.nonce === 'string' ? owner : undefined;
  } catch {
    // Being written right now, or damaged: either way not ours to remove.
    return undefined;
  }
}

async function readOwnerOrUndefined(file: string): Promise<LockOwner | undefined> {
  const owner = await readOwner(file);
  return owner === 'gone' ? undefined : owner;
}

function isStale(owner: LockOwner): boolean {
  if (owner.hostname !== os.hostname()) return false;
  if (owner.pid === process.pid) return false; // held by this very process: a second open here is as unsafe
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function releaseIfOurs(file: string, nonce: string): Promise<void> {
  const owner = await readOwner(file);
  if (owner === 'gone' || owner?.nonce !== nonce) return;
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error;
  });
}
