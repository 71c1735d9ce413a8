// Builds the one native addon, native/ (the tracker's batched UDP socket:
// recvmmsg/sendmmsg), with node-gyp, and copies it next to the code
// that loads it: dist/src/net/ (what tsc builds and the tests import) and
// dist/bin/ (the bundled CLI), so `new URL('./batch_udp.node',
// import.meta.url)` finds it from either build, like the hash worker.
//
// It never fails the build: without Linux, a C compiler, python3 or Node's
// headers, it says why on stderr and exits 0, and peerkit runs on
// node:dgram. PEERKIT_NO_NATIVE=1 skips it on purpose. A build whose
// sources, Node version and architecture are unchanged is reused (a stamp
// next to it), so `npm run build` costs nothing extra the second time.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = join(root, 'native');
const built = join(dir, 'build', 'Release', 'batch_udp.node');
const stampFile = join(dir, 'build', 'peerkit-stamp.json');
const targets = [join(root, 'dist', 'src', 'net', 'batch_udp.node'), join(root, 'dist', 'bin', 'batch_udp.node')];
/** A compile takes about a second; node-gyp fetching headers over a dead network must not hang the install. */
const TIMEOUT_MS = 180_000;

const skip = (why) => {
  // A stale copy from an earlier build would be loaded with the old code: remove it.
  for (const t of targets) rmSync(t, { force: true });
  process.stderr.write(`peerkit: native batch UDP socket not built (${why}); the tracker will use node:dgram\n`);
  process.exit(0);
};

if (process.env.PEERKIT_NO_NATIVE === '1') skip('PEERKIT_NO_NATIVE=1');
if (process.platform !== 'linux') skip(`recvmmsg/sendmmsg are Linux only, this is ${process.platform}`);

const sources = createHash('sha256');
for (const f of readdirSync(dir).filter((f) => /\.(c|h|gyp)$/.test(f)).sort()) sources.update(f).update(readFileSync(join(dir, f)));
const stamp = JSON.stringify({
  sources: sources.digest('hex'),
  node: process.version,
  arch: process.arch,
});
const fresh = existsSync(built) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp;

if (!fresh) {
  // npm gives its scripts the path of its own node-gyp; outside npm, look where npm keeps it, then on PATH.
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const gyp = process.env.npm_config_node_gyp ?? (existsSync(bundled) ? bundled : undefined);
  const args = ['rebuild'];
  // Headers installed with this Node (a distribution's package, a tarball
  // install) are used as they are, instead of node-gyp downloading a copy.
  const prefix = join(dirname(process.execPath), '..');
  if (process.env.npm_config_nodedir === undefined && existsSync(join(prefix, 'include', 'node', 'node_api.h')) && existsSync(join(prefix, 'include', 'node', 'common.gypi'))) {
    args.push(`--nodedir=${prefix}`);
  }
  const r = gyp !== undefined
    ? spawnSync(process.execPath, [gyp, ...args], { cwd: dir, encoding: 'utf8', timeout: TIMEOUT_MS })
    : spawnSync('node-gyp', args, { cwd: dir, encoding: 'utf8', timeout: TIMEOUT_MS });
  if (r.error !== undefined || r.status !== 0 || !existsSync(built)) {
    // The lines that say what went wrong, not node-gyp's boilerplate about itself.
    const boilerplate = /^gyp (info|ERR! (stack|System|command|cwd|node -v|node-gyp -v|not ok))/;
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').filter((l) => /error|not found|no such file/i.test(l) && !boilerplate.test(l)).slice(0, 4);
    const why = r.error !== undefined ? (r.error.code === 'ENOENT' ? 'node-gyp not found' : r.error.message) : `node-gyp exited with ${r.status}`;
    if (output.length > 0) process.stderr.write(`${output.map((l) => `  ${l.trim()}`).join('\n')}\n`);
    skip(why);
  }
  writeFileSync(stampFile, stamp);
}

for (const t of targets) {
  mkdirSync(dirname(t), { recursive: true });
  copyFileSync(built, t);
}
