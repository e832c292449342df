#!/usr/bin/env node
// `npx latchkey …`. In the repository, npm puts node_modules/.bin first on
// PATH, so `node` is the project's Node 24, which runs the TypeScript sources
// directly. An installed package carries no sources but their JavaScript
// (dist/, built by `npm pack`), which any Node from 22.12 runs.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { URL } from 'node:url';

const sources = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/src/cli/main.js', import.meta.url);

if (existsSync(sources) && process.features.typescript) {
  await import(sources.href);
} else if (existsSync(built)) {
  await import(built.href);
} else {
  process.stderr.write(`latchkey: Node ${process.versions.node} cannot run Latchkey's TypeScript sources; run it through npm (npx latchkey …), which uses the project's Node 24\n`);
  process.exitCode = 1;
}
