import { spawnSync } from 'node:child_process';
import { cp, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's JavaScript, for `npm pack` and installs from a git URL
 * (`prepack`): Node strips types only outside node_modules, so an installed
 * Latchkey runs dist/, compiled by tsconfig.build.json with the repository's
 * layout, plus the files the sources read beside themselves (the pages'
 * stylesheet). The repository itself never runs dist/.
 */
const root = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(root, 'dist');

await rm(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) {
  process.stderr.write('build-package: the TypeScript build failed\n');
  process.exit(1);
}
for (const file of await readdir(path.join(root, 'src'), { recursive: true, withFileTypes: true })) {
  if (!file.isFile() || file.name.endsWith('.ts')) continue;
  const from = path.join(file.parentPath, file.name);
  await cp(from, path.join(dist, path.relative(root, from)));
}
process.stdout.write(`build-package: ${path.relative(root, dist)}/ written\n`);
