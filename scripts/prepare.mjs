// npm's `prepare`: it runs on every install of the repository (npm ci,
// npm install, the Docker image's npm ci --omit=dev), where nothing needs
// building, and when npm packs Latchkey as a git dependency, which is the
// only time it sets npm_package_resolved. Then the package needs its
// JavaScript (dist/, scripts/build-package.ts), like `npm pack`'s prepack.
// Plain JavaScript, so any Node runs this check; the build itself runs on the
// project's Node 24, which npm has installed with the devDependencies by then.
import { spawnSync } from 'node:child_process';
import process from 'node:process';

if (process.env.npm_package_resolved) {
  const build = spawnSync('node', ['scripts/build-package.ts'], { stdio: 'inherit' });
  process.exit(build.status ?? 1);
}
