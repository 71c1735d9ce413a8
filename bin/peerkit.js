#!/usr/bin/env node
// The `peerkit` command. `npm install` (the `prepare` script) or `npm run
// build` compiles the TypeScript and bundles the CLI into dist/bin/.
import { existsSync } from 'node:fs';

const main = new URL('../dist/bin/peerkit.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('peerkit: not built yet: run `npm install` (or `npm run build`) in the peerkit folder first\n');
  process.exit(1);
}
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2));
