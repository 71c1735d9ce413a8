import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../src/cli/format.js';

/** Chunk for writing the data file: big enough that syscalls don't matter. */
const CHUNK = 16 * 1024 * 1024;

/**
 * The random input of the benchmarks, made once per size in `dir` and kept
 * (writing 1 GiB costs more than a whole round; bench:create and
 * bench:transfer share it). Random bytes so nothing downstream can compress
 * or dedupe them; written under a temporary name so an interrupted run never
 * leaves a file of the right size with the wrong contents.
 */
export async function randomDataFile(dir: string, size: number, bench: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `random-${size}.bin`);
  if (existsSync(path) && statSync(path).size === size) return path;
  process.stderr.write(`${bench}: writing ${formatBytes(size)} of random data to ${path}\n`);
  const partial = `${path}.partial`;
  const fh = await open(partial, 'w');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let at = 0; at < size; at += CHUNK) {
      const n = Math.min(CHUNK, size - at);
      randomFillSync(buf, 0, n);
      await fh.write(buf, 0, n, at);
    }
  } finally {
    await fh.close();
  }
  await rename(partial, path);
  return path;
}
