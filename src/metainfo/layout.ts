/*
 * The file-to-piece mapping. A v1 torrent hashes the concatenation of its
 * files, in the order listed, as one stream cut into `pieceLength` pieces, so
 * a piece can span the end of one file and the start of the next:
 *
 *   files   |--- a (300) ---|-- b (100) --|------- c (500) -------|
 *   pieces  |--- 0 (256) ---|--- 1 (256) ---|--- 2 (256) --|-3 (132)-|
 *
 * Piece 1 is stream bytes [256, 512): a[256, 300), all of b, and c[0, 112).
 */

export interface LayoutFile {
  /** Bytes. */
  readonly length: number;
}

/** One contiguous part of a piece that lies inside one file. */
export interface FileSlice {
  readonly fileIndex: number;
  /** Offset inside the file. */
  readonly fileOffset: number;
  /** Offset inside the piece. */
  readonly pieceOffset: number;
  readonly length: number;
}

export class FileLayout {
  readonly pieceLength: number;
  readonly length: number;
  readonly pieceCount: number;
  /** `offsets[i]` is where file i starts in the stream. */
  readonly offsets: readonly number[];
  readonly lengths: readonly number[];

  constructor(files: readonly LayoutFile[], pieceLength: number) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`bad piece length ${pieceLength}`);
    const offsets: number[] = [];
    let total = 0;
    for (const f of files) {
      offsets.push(total);
      total += f.length;
    }
    this.pieceLength = pieceLength;
    this.length = total;
    this.pieceCount = Math.ceil(total / pieceLength);
    this.offsets = offsets;
    this.lengths = files.map((f) => f.length);
  }

  /** The size of piece `index`: `pieceLength`, except for a shorter last piece. */
  pieceSize(index: number): number {
    this.checkPiece(index);
    return Math.min(this.pieceLength, this.length - index * this.pieceLength);
  }

  /** The pieces that hold bytes of file `fileIndex` (empty files hold none). */
  filePieces(fileIndex: number): { readonly first: number; readonly last: number } | undefined {
    const start = this.offsets[fileIndex];
    const len = this.lengths[fileIndex];
    if (start === undefined || len === undefined) throw new RangeError(`no file ${fileIndex}`);
    if (len === 0) return undefined;
    return { first: Math.floor(start / this.pieceLength), last: Math.floor((start + len - 1) / this.pieceLength) };
  }

  /** Where the bytes of `[begin, begin + length)` of piece `index` are, file by file. */
  pieceSlices(index: number, begin = 0, length = this.pieceSize(index) - begin): FileSlice[] {
    const size = this.pieceSize(index);
    if (begin < 0 || length < 0 || begin + length > size) throw new RangeError(`bad range ${begin}+${length} of piece ${index}`);
    return this.streamSlices(index * this.pieceLength + begin, length, begin);
  }

  /** Where the stream bytes `[offset, offset + length)` are, file by file. */
  streamSlices(offset: number, length: number, pieceOffset = 0): FileSlice[] {
    const out: FileSlice[] = [];
    if (length === 0) return out;
    let f = this.fileAt(offset);
    let at = offset;
    const end = offset + length;
    while (at < end && f < this.lengths.length) {
      const fStart = this.offsets[f]!;
      const fEnd = fStart + this.lengths[f]!;
      if (fEnd > at) {
        const n = Math.min(fEnd, end) - at;
        out.push({ fileIndex: f, fileOffset: at - fStart, pieceOffset: pieceOffset + (at - offset), length: n });
        at += n;
      }
      f++;
    }
    return out;
  }

  /** The last file that starts at or before stream offset `offset` (binary search). */
  private fileAt(offset: number): number {
    let lo = 0;
    let hi = this.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.offsets[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  private checkPiece(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) throw new RangeError(`no piece ${index}`);
  }
}
