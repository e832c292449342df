#!/usr/bin/env node
// `npx latchkey …`: npm puts node_modules/.bin first on PATH, so `node` here is
// the project's Node 24 (the `node` devDependency), which runs the TypeScript
// sources directly. A bare older Node is told so instead of failing obscurely.
import process from 'node:process';

if (process.features.typescript) {
  await import('../src/cli/main.ts');
} else {
  process.stderr.write(`latchkey: Node ${process.versions.node} cannot run Latchkey's TypeScript sources; run it through npm (npx latchkey …), which uses the project's Node 24\n`);
  process.exitCode = 1;
}
