// Runs the compiled node:test suite: every *.test.js under dist/test (or
// under the given sub-folders, e.g. `node scripts/test.js interop`).
// Lists the files itself (only those whose .ts source still exists) because `node --test` only takes glob patterns
// from Node 21 on, and peerkit supports Node 20.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = 'dist/test';
const folders = process.argv.slice(2).map((f) => join(root, f));
const files = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    // Skip compiled tests whose source is gone (tsc leaves old outputs behind).
    else if (e.name.endsWith('.test.js') && existsSync(p.replace(/^dist\//, '').replace(/\.js$/, '.ts'))) files.push(p);
  }
};
for (const f of folders.length > 0 ? folders : [root]) {
  if (!existsSync(f)) {
    console.error(`no compiled tests in ${f}: run \`npm run build\` first`);
    process.exit(1);
  }
  walk(f);
}
files.sort();
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
