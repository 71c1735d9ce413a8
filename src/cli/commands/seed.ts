import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { checkPieceLength, createTorrent, formatMagnet, MetainfoError, parseTorrent, type Metainfo } from '../../metainfo/index.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, parseSize, plural, printable } from '../format.js';
import type { Command } from '../main.js';
import { ProgressBar } from '../progress.js';
import { readTorrentFile } from '../torrent-file.js';
import { formatRate, positiveNumber, reportEvents, SESSION_OPTIONS, SESSION_USAGE, closeSession, startTransfer, StatusLine, storageMessage, untilInterrupted } from '../transfer.js';
import { VERSION } from '../version.js';

const usage = `Usage: peerkit seed <file.torrent> <data path> [options]
       peerkit seed <file or folder> [-t <tracker url>] [options]

Seed: upload a torrent's data to the peers that ask for it, until Ctrl-C.
The first form seeds existing data for a .torrent: <data path> is the file
or folder the torrent describes, or the folder that contains it; every
piece is verified first. The second form creates the .torrent (written to
<name>.torrent, or --torrent-out), prints its magnet link, and seeds.

Options:
  -t, --tracker <url>     announce URL for a new torrent; repeatable
      --torrent-out <file> where to write a new .torrent (default: <name>.torrent)
  -l, --piece-length <n>  piece size for a new torrent (default: automatic)
      --seed-ratio <r>    stop once uploaded/size reaches r
      --seed-time <min>   stop after this many minutes
      --super-seed        initial seeding (BEP 16): offer each peer a piece or
                          two at a time, so that each piece leaves us about
                          once and the peers trade the rest; for the first
                          seed of a new torrent with many peers
${SESSION_USAGE}`;

export const seedCommand: Command = {
  name: 'seed',
  summary: 'seed existing data, or share a file or folder',
  usage,
  async run(args) {
    const parsed = parseCommandLine(
      args,
      {
        tracker: { type: 'string', short: 't', multiple: true },
        'torrent-out': { type: 'string' },
        'piece-length': { type: 'string', short: 'l' },
        'seed-ratio': { type: 'string' },
        'seed-time': { type: 'string' },
        'super-seed': { type: 'boolean' },
        ...SESSION_OPTIONS,
      },
      usage,
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length === 0 || positionals.length > 2) throw new UsageError('give a .torrent and its data, or one file or folder to share');
    const seedRatio = positiveNumber(values['seed-ratio'], '--seed-ratio');
    const seedMinutes = positiveNumber(values['seed-time'], '--seed-time');

    let metainfo: Metainfo;
    let dir: string;
    let name: string;
    if (positionals.length === 2) {
      metainfo = await readTorrentFile(positionals[0]!);
      const data = resolve(positionals[1]!);
      if (!existsSync(data)) throw new MetainfoError('io', `${data}: no such file or folder`);
      // The folder that holds the torrent's top-level name, or the file or folder itself.
      if (existsSync(join(data, metainfo.name))) ({ dir, name } = { dir: data, name: metainfo.name });
      else ({ dir, name } = { dir: dirname(data), name: basename(data) });
    } else {
      const path = resolve(positionals[0]!);
      if (path.endsWith('.torrent') && existsSync(path)) throw new UsageError('to seed a .torrent, give the path of its data too: peerkit seed <file.torrent> <data path>');
      const out = resolve(values['torrent-out'] ?? `${basename(path)}.torrent`);
      const bar = new ProgressBar('hashing');
      const created = await createTorrent(path, {
        trackers: (values.tracker ?? []).map((t) => [t]),
        createdBy: `peerkit/${VERSION}`,
        creationDate: Math.floor(Date.now() / 1000),
        exclude: [out],
        ...(values['piece-length'] !== undefined && { pieceLength: pieceLength(values['piece-length']) }),
        onProgress: (d, t) => bar.update(d, t),
      });
      bar.done();
      metainfo = created.metainfo;
      await writeTorrent(out, created.torrent, metainfo);
      ({ dir, name } = { dir: dirname(path), name: basename(path) });
      process.stdout.write(`created ${out}\nmagnet ${formatMagnet({ infoHash: metainfo.infoHash, name: metainfo.name, trackers: metainfo.announceList.flat() })}\n`);
      if (metainfo.announceList.length === 0) process.stderr.write('peerkit: note: no tracker (-t): only peers given --peer our address can find us\n');
    }

    const bar = new ProgressBar('verifying');
    const running = await startTransfer(metainfo, dir, values, { name, onCheck: (d, t) => bar.update(d, t), superSeed: values['super-seed'] === true });
    const { session, torrent } = running;
    bar.done();
    if (!torrent.complete) {
      const { pieces } = torrent.progress;
      await closeSession(running);
      throw new MetainfoError('io', `the data in ${join(dir, name)} does not match the torrent: ${pieces} of ${plural(metainfo.pieceCount, 'piece')} verified (use \`peerkit get\` to complete it)`);
    }
    process.stdout.write(`seeding ${printable(metainfo.name)} (${metainfo.infoHashHex}, ${formatBytes(metainfo.length)}) on port ${session.port}${values['super-seed'] === true ? ', super-seeding' : ''}\n`);
    const status = new StatusLine(torrent);
    reportEvents(torrent, status, values.verbose === true);
    const interrupt = untilInterrupted();
    const startedAt = performance.now();
    let failure: Error | undefined;
    await new Promise<void>((done) => {
      torrent.on((e) => {
        if (e.type === 'error') {
          failure = e.error;
          done();
        }
      });
      void interrupt.promise.then(() => done());
      const check = setInterval(() => {
        const ratio = torrent.uploaded / Math.max(1, metainfo.length);
        if ((seedRatio !== undefined && ratio >= seedRatio) || (seedMinutes !== undefined && performance.now() - startedAt >= seedMinutes * 60_000)) done();
      }, 1000);
      check.unref();
      status.start();
    });
    interrupt.dispose();
    status.stop();
    await closeSession(running);
    if (failure !== undefined) {
      process.stderr.write(`peerkit: ${storageMessage(failure)}\n`);
      return 1;
    }
    const secs = (performance.now() - startedAt) / 1000;
    process.stdout.write(`stopped seeding: uploaded ${formatBytes(torrent.uploaded)} in ${Math.round(secs)} s (${formatRate(torrent.uploaded / Math.max(secs, 1e-3))})\n`);
    return 0;
  },
};

/** The same rule as `peerkit create -l`: a size (256K, 1MiB) that is a power of two from 16 KiB to 256 MiB. */
function pieceLength(s: string): number {
  const n = parseSize(s);
  try {
    if (n === undefined) throw new Error('not a size');
    checkPieceLength(n);
    return n;
  } catch (e) {
    throw new UsageError(`--piece-length ${JSON.stringify(s)}: must be a power of two from 16 KiB to 256 MiB`, { cause: e });
  }
}

/** Write the new .torrent, unless the same torrent is already there; never overwrite a different one. */
async function writeTorrent(path: string, bytes: Uint8Array, metainfo: Metainfo): Promise<void> {
  if (existsSync(path)) {
    let same = false;
    try {
      same = parseTorrent(await readFile(path)).infoHashHex === metainfo.infoHashHex;
    } catch {
      same = false;
    }
    if (!same) throw new MetainfoError('io', `${path} already exists and is another torrent: choose another name with --torrent-out`);
    return;
  }
  await writeFile(path, bytes, { flag: 'wx' });
}
