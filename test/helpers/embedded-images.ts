import { randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/log/logger.ts';
import { emptyEmbeddedImage, openDatabase } from '../../src/store/database.ts';

/**
 * What initdb leaves, made once per machine and reused by every test file.
 *
 * Each embedded database a test opens would otherwise run PGlite's initdb:
 * about 2.5 s of CPU in memory and 3.5 s on disk, for a result that is the
 * same every time. Starting from a copy of that result skips only initdb; the
 * database is still migrated and used exactly as the server does. The
 * server-start tests that spawn `bin/latchkey.js` on an empty directory keep
 * running initdb for real.
 *
 * The copies live under node_modules/.cache (removed with node_modules), named
 * after PGlite's version; each is written under a temporary name and renamed
 * into place, so test files starting at once never read half a copy.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE = path.join(ROOT, 'node_modules', '.cache', 'latchkey-tests');
const PGLITE_VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8')) as { version: string }).version;

let image: Promise<Blob> | undefined;

/** The empty database as an image for an in-memory embedded database (`embeddedImage`). */
export function emptyImage(): Promise<Blob> {
  image ??= (async () => {
    const file = path.join(CACHE, `empty-${PGLITE_VERSION}.tar`);
    if (!existsSync(file)) {
      const made = Buffer.from(await (await emptyEmbeddedImage()).arrayBuffer());
      await mkdir(CACHE, { recursive: true });
      const partial = `${file}.${randomBytes(6).toString('hex')}`;
      await writeFile(partial, made);
      await rename(partial, file);
    }
    return new Blob([await readFile(file)]);
  })();
  return image;
}

let directory: Promise<string> | undefined;

/**
 * Fills `<dataDir>/pglite` (where the server keeps its embedded database
 * under LATCHKEY_DATA_DIR) with a copy of the empty database, as if a first
 * start had just initialised it.
 */
export async function seedEmbeddedDataDir(dataDir: string): Promise<void> {
  const template = await emptyDirectory();
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await cp(template, path.join(dataDir, 'pglite'), { recursive: true });
}

function emptyDirectory(): Promise<string> {
  directory ??= (async () => {
    const target = path.join(CACHE, `empty-${PGLITE_VERSION}.dir`);
    if (!existsSync(target)) {
      const work = path.join(CACHE, `build-${randomBytes(6).toString('hex')}`);
      try {
        const database = await openDatabase({ dataDir: path.join(work, 'pglite'), logger: createLogger('silent') });
        await database.close();
        await rename(path.join(work, 'pglite'), target).catch((error: NodeJS.ErrnoException) => {
          // Another test file finished the same copy first: theirs is as good.
          if (!existsSync(target)) throw error;
        });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
    return target;
  })();
  return directory;
}
