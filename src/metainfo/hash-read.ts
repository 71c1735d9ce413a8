import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { FileLayout } from './layout.js';

/*
 * Reading and hashing pieces straight from the files of a torrent: the code
 * shared by the hashing workers and the in-thread path for small inputs.
 * Reads are positional and batched (several pieces per read), and only a
 * bounded number of files are open at once, so a folder of 100,000 files
 * hashes without running out of descriptors.
 */

export interface HashSource {
  /** A path on disk. */
  readonly path: string;
  readonly length: number;
}

/** An I/O failure while hashing, with the file it concerns. */
export class HashReadError extends Error {
  override readonly name = 'HashReadError';
  constructor(
    message: string,
    readonly path: string,
    readonly errno: string | undefined,
  ) {
    super(message);
  }
}

const MAX_OPEN = 32;

export class PieceHasher {
  private readonly layout: FileLayout;
  private readonly open = new Map<number, number>(); // file index -> fd, in LRU order
  private buffer: Buffer;

  constructor(
    private readonly files: readonly HashSource[],
    pieceLength: number,
  ) {
    this.layout = new FileLayout(files, pieceLength);
    this.buffer = Buffer.allocUnsafe(0);
  }

  get pieceCount(): number {
    return this.layout.pieceCount;
  }

  /** Hash pieces `[first, first + count)` into `out` at `first * 20`; the bytes hashed. */
  hashRange(first: number, count: number, out: Uint8Array): number {
    const { pieceLength, length } = this.layout;
    const start = first * pieceLength;
    const end = Math.min(length, (first + count) * pieceLength);
    if (this.buffer.length < end - start) this.buffer = alignedBuffer(end - start);
    for (const slice of this.layout.streamSlices(start, end - start)) {
      this.readFully(slice.fileIndex, slice.fileOffset, slice.pieceOffset, slice.length);
    }
    for (let i = 0; i < count; i++) {
      const from = i * pieceLength;
      const to = Math.min(from + pieceLength, end - start);
      const digest = createHash('sha1').update(this.buffer.subarray(from, to)).digest();
      out.set(digest, (first + i) * 20);
    }
    return end - start;
  }

  close(): void {
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
  }

  private readFully(fileIndex: number, fileOffset: number, at: number, length: number): void {
    const file = this.files[fileIndex]!;
    const fd = this.fd(fileIndex);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        n = readSync(fd, this.buffer, at + done, length - done, fileOffset + done);
      } catch (e) {
        throw ioError(e, file.path);
      }
      if (n === 0) throw new HashReadError(`${file.path} is shorter than expected (did it change while hashing?)`, file.path, undefined);
      done += n;
    }
  }

  private fd(fileIndex: number): number {
    const cached = this.open.get(fileIndex);
    if (cached !== undefined) {
      this.open.delete(fileIndex);
      this.open.set(fileIndex, cached);
      return cached;
    }
    if (this.open.size >= MAX_OPEN) {
      const [oldest, fd] = this.open.entries().next().value as [number, number];
      this.open.delete(oldest);
      closeSync(fd);
    }
    const path = this.files[fileIndex]!.path;
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw ioError(e, path);
    }
    this.open.set(fileIndex, fd);
    return fd;
  }
}

// Node's types leave WebAssembly out (it is in the DOM library): the part used here.
const wasm = (globalThis as { WebAssembly?: { Memory: new (d: { initial: number; maximum: number }) => { readonly buffer: ArrayBuffer } } }).WebAssembly;

/**
 * A read buffer that starts on a page boundary. The kernel copies from the
 * page cache into it about twice as fast as into one that is 16 but not 32
 * bytes aligned, which is what glibc's malloc gives a large block (an mmap'd
 * block starts 16 bytes into its page), as in every fresh worker: ~0.075 s
 * against ~0.14 s per GiB, nearly a tenth of the whole cost of hashing.
 * WebAssembly memory is the one page-aligned allocation JavaScript can ask
 * for; where it is missing (--jitless) or refused (a tight address-space
 * limit), an ordinary buffer does the same job, slower.
 */
function alignedBuffer(size: number): Buffer {
  const pages = Math.ceil(size / 65536);
  try {
    if (wasm !== undefined) return Buffer.from(new wasm.Memory({ initial: pages, maximum: pages }).buffer, 0, size);
  } catch {
    // Refused: fall through to an ordinary buffer.
  }
  return Buffer.allocUnsafe(size);
}

function ioError(e: unknown, path: string): HashReadError {
  const err = e as NodeJS.ErrnoException;
  return new HashReadError(`cannot read ${path}: ${err.code ?? err.message}`, path, err.code);
}
