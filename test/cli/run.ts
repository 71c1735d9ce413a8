import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (dist/test/cli is three levels below it). */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = fileURLToPath(new URL('../../../bin/peerkit.js', import.meta.url));

export interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run the `peerkit` command as a user would, and collect what it prints. */
export function peerkit(args: readonly string[], options: { cwd?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEERKIT_DEBUG: undefined, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A user-facing failure: a non-zero exit and exactly one line on stderr, no stack trace. */
export function isCleanFailure(r: Result): boolean {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  return r.code !== 0 && r.code !== null && lines.length === 1 && lines[0]!.startsWith('peerkit: ') && !/\n\s+at /.test(r.stderr);
}
