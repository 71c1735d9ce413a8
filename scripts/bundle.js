// Bundles the `peerkit` command into dist/bin/: one file for the CLI and one
// for each worker (hashing, the lab page's experiment). Node 20 spends
// ~0.6 ms per ES module it loads, so the ~25 modules of the CLI cost ~20 ms at
// every start, against ~7 ms as a single file; for a command that hashes 1 GiB
// in 0.4 s that is 4%. tsc still builds dist/src (what the tests import) and
// does all type checking. A worker sits next to the module that starts it, so
// `new URL('./hash-worker.js', import.meta.url)` finds it from either build.
//
// Then the web UI (src/web/ui, Preact): one script and one stylesheet,
// minified, with index.html and the icon, written to ui/ next to the daemon's
// code in both builds (dist/bin/ui and dist/src/web/ui), where the daemon
// reads them at start. Nothing is fetched at run time.
import { copyFile, mkdir } from 'node:fs/promises';
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

for (const outdir of ['dist/bin/ui', 'dist/src/web/ui']) {
  await build({
    entryPoints: { app: 'src/web/ui/main.tsx', 'app-style': 'src/web/ui/style.css' },
    entryNames: '[name]',
    outdir,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    // What the UI's CSS (color-mix) needs anyway: browsers from 2023 on.
    target: ['chrome111', 'firefox113', 'safari16.2'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  });
  await mkdir(outdir, { recursive: true });
  for (const f of ['index.html', 'favicon.svg']) await copyFile(`src/web/ui/${f}`, `${outdir}/${f}`);
}
