// Bundles the `peerkit` command into dist/bin/: one file for the CLI and one
// for each worker (hashing, the lab page's experiment). Node 20 spends
// ~0.6 ms per ES module it loads, so the ~25 modules of the CLI cost ~20 ms at
// every start, against ~7 ms as a single file; for a command that hashes 1 GiB
// in 0.4 s that is 4%. tsc still builds dist/src (what the tests import) and
// does all type checking. A worker sits next to the module that starts it, so
// `new URL('./hash-worker.js', import.meta.url)` finds it from either build.

import { build } from 'esbuild';

await build({
  entryPoints: { peerkit: 'src/cli/main.ts', 'hash-worker': 'src/metainfo/hash-worker.ts', 'lab-worker': 'src/web/lab-worker.ts' },
  outdir: 'dist/bin',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
});

