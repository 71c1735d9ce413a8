// Finding and running the third-party tools the interop tests check peerkit
// against (DESIGN.md, "Interoperability is the test of truth"). A missing
// tool skips the test loudly on a developer's machine, but FAILS it in CI
// (CI=true), where .ci/run installs every tool: a silently skipped interop
// test would be a test that never runs.
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

/**
 * The repository root. This file runs as dist/test/interop/tools.js, so the
 * root is three folders up (tsconfig's rootDir is the repository itself).
 */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The `peerkit` command exactly as a user runs it. */
export const PEERKIT_BIN = join(REPO_ROOT, 'bin', 'peerkit.js');
/** The Python helpers (lt_info.py, lt_create.py) live next to the sources, not in dist/. */
export const PY_DIR = join(REPO_ROOT, 'test', 'interop', 'py');

/** Is `name` an executable file in one of the PATH folders? (No `which`: it may not be installed.) */
export function hasCommand(name: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      if (statSync(file).isFile()) return true;
    } catch {
      // not here; try the next folder
    }
  }
  return false;
}

let libtorrentCache: { python: string | undefined } | undefined;

/**
 * A Python interpreter that can `import libtorrent`, or undefined. Debian's
 * python3-libtorrent is built for the system interpreter only, so
 * /usr/bin/python3 is tried first: the first python3 on PATH may be a pyenv
 * or venv one that cannot see it.
 */
export function libtorrentPython(): string | undefined {
  if (libtorrentCache === undefined) {
    const python = ['/usr/bin/python3', 'python3'].find(
      (p) => spawnSync(p, ['-c', 'import libtorrent'], { stdio: 'ignore', timeout: 30_000 }).status === 0,
    );
    libtorrentCache = { python };
  }
  return libtorrentCache.python;
}

/**
 * Gate a test on a tool. Returns true when the tool was found; otherwise
 * fails the test in CI (throws) or skips it with a message on stderr that is
 * hard to overlook, and returns false so the caller can `return`:
 *
 *     if (!requireTool(t, 'mktorrent', hasCommand('mktorrent'), 'mktorrent')) return;
 *
 * `found` is anything truthy when present (a boolean, or a path such as
 * libtorrentPython()'s).
 */
export function requireTool(t: TestContext, what: string, found: unknown, aptPackage: string): boolean {
  if (found !== undefined && found !== null && found !== false && found !== '') return true;
  const why = `${what} not installed: apt-get install -y ${aptPackage}`;
  if (process.env.CI === 'true') {
    throw new Error(`interop tool missing in CI (${why}); .ci/run is supposed to install it`);
  }
  process.stderr.write(`SKIPPED interop (${why})\n`);
  t.skip(`SKIPPED interop (${why})`);
  return false;
}

export interface RunResult {
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Run a program to completion and return its output. A non-zero exit rejects
 * with the command line, the exit status and both outputs, so a failing
 * interop test says what the tool said.
 */
export function run(
  file: string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error !== null) {
          const status = error.killed ? `killed (${String(error.signal)})` : `exit ${String(error.code)}`;
          reject(new Error(`${[file, ...args].join(' ')}: ${status}\n--- stdout\n${stdout}--- stderr\n${stderr}`));
          return;
        }
        resolve({ stdout, stderr });
      },
    );
  });
}

/** Run `peerkit <args>` with the same Node that runs the tests. */
export function peerkit(args: readonly string[], options: { cwd?: string } = {}): Promise<RunResult> {
  return run(process.execPath, [PEERKIT_BIN, ...args], options);
}

/**
 * Run one of the Python helpers in test/interop/py with the given
 * interpreter. libtorrent converts file names through the C locale: under
 * LC_ALL=C it cannot open non-ASCII paths ("no files in torrent"), so the
 * helpers always run with a UTF-8 locale (C.UTF-8 is built into glibc).
 */
export function python(interpreter: string, script: string, args: readonly string[]): Promise<RunResult> {
  return run(interpreter, [join(PY_DIR, script), ...args], { env: { ...process.env, LC_ALL: 'C.UTF-8' } });
}
