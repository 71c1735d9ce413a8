import type { Metainfo } from '../metainfo/index.js';
import { readResume, recheckPieces, trustedPieces, writeResume, type FileStore, type ResumeData } from '../storage/index.js';

/*
 * What we already have, before the first connection: resume data says which
 * pieces were verified last time, and the files' sizes and modification
 * times say whether anything touched them since. Pieces whose files are
 * unchanged are trusted; everything else that might hold data is hashed
 * again (BEP 3 gives every piece's SHA-1, so nothing is trusted unverified).
 */

export interface CheckResult {
  /** Bitfield bytes of the pieces we have. */
  readonly have: Uint8Array;
  readonly trusted: number;
  readonly rechecked: number;
  readonly verified: number;
}

function countBits(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) {
    let x = b;
    while (x !== 0) {
      x &= x - 1;
      n++;
    }
  }
  return n;
}

export async function checkExisting(
  metainfo: Metainfo,
  store: FileStore,
  resumeFile: string | undefined,
  options: { readonly onProgress?: (done: number, total: number) => void; readonly signal?: AbortSignal } = {},
): Promise<CheckResult> {
  const resume = resumeFile !== undefined ? await readResume(resumeFile) : undefined;
  const usable = resume !== undefined && Buffer.compare(resume.infoHash, metainfo.infoHash) === 0 && resume.pieceCount === metainfo.pieceCount ? resume : undefined;
  const current = await store.stat();
  const { trusted, recheck } = trustedPieces(usable, current, metainfo.layout);
  const toCheck = countBits(recheck);
  const verified =
    toCheck > 0
      ? await recheckPieces(
          store.paths,
          metainfo.files,
          metainfo.layout,
          metainfo.pieces,
          recheck,
          options,
        )
      : new Uint8Array(trusted.length);
  const have = new Uint8Array(trusted.length);
  for (let i = 0; i < have.length; i++) have[i] = trusted[i]! | verified[i]!;
  return { have, trusted: countBits(trusted), rechecked: toCheck, verified: countBits(verified) };
}

/**
 * Files are stat-ed before `have` is read: a piece written in between is then
 * in `have` with an older mtime on record, which costs a recheck next time;
 * the other order could record a newer mtime without the piece, and the
 * piece would be downloaded again.
 */
export async function saveResume(metainfo: Metainfo, store: FileStore, resumeFile: string, have: () => Uint8Array): Promise<void> {
  // The data goes to disk before the record that vouches for it.
  await store.flush();
  const files = await store.stat();
  const data: ResumeData = { infoHash: metainfo.infoHash, pieceCount: metainfo.pieceCount, have: have(), files };
  await writeResume(resumeFile, data);
}
