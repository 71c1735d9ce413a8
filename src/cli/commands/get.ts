import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isMagnet } from '../../metainfo/index.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, plural, printable } from '../format.js';
import type { Command } from '../main.js';
import { ProgressBar } from '../progress.js';
import { readTorrentFile } from '../torrent-file.js';
import { formatDuration, positiveNumber, reportEvents, formatRate, SESSION_OPTIONS, SESSION_USAGE, startTransfer, StatusLine, storageMessage, untilInterrupted } from '../transfer.js';

const usage = `Usage: peerkit get <file.torrent> [options]

Download a torrent: ask its trackers for peers, trade pieces with them
(rarest first, tit-for-tat), verify every piece (SHA-1) and write it to disk.
Exits 0 as soon as every piece is verified on disk, unless --seed is given.
Ctrl-C stops cleanly; run the same command again to resume: verified pieces
are remembered and not downloaded again.

Options:
  -o, --output <dir>     download folder (default: the current folder)
      --seed             keep seeding after the download, until Ctrl-C or a
                         limit below
      --seed-ratio <r>   stop seeding once uploaded/size reaches r (implies --seed)
      --seed-time <min>  stop seeding after this many minutes (implies --seed)
${SESSION_USAGE}`;

export const getCommand: Command = {
  name: 'get',
  summary: 'download a torrent (and optionally seed it)',
  usage,
  async run(args) {
    const parsed = parseCommandLine(
      args,
      {
        output: { type: 'string', short: 'o' },
        seed: { type: 'boolean' },
        'seed-ratio': { type: 'string' },
        'seed-time': { type: 'string' },
        ...SESSION_OPTIONS,
      },
      usage,
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the .torrent to download' : 'give exactly one .torrent');
    const source = positionals[0]!;
    if (isMagnet(source)) throw new UsageError('magnet links need the DHT and metadata exchange, which this version does not have yet: download the .torrent and give its path');
    const seedRatio = positiveNumber(values['seed-ratio'], '--seed-ratio');
    const seedMinutes = positiveNumber(values['seed-time'], '--seed-time');
    const seed = values.seed === true || seedRatio !== undefined || seedMinutes !== undefined;
    const dir = resolve(values.output ?? '.');
    const st = await stat(dir).catch(() => undefined);
    if (st !== undefined && !st.isDirectory()) throw new UsageError(`--output ${dir} is not a folder`);

    const metainfo = await readTorrentFile(source);
    const bar = new ProgressBar('checking');
    const { session, torrent, udp } = await startTransfer(metainfo, dir, values, { onCheck: (d, t) => bar.update(d, t) });
    bar.done();
    const status = new StatusLine(torrent);
    reportEvents(torrent, status, values.verbose === true);
    const say = (m: string): void => status.log(m);
    const startedAt = performance.now();
    const startBytes = torrent.progress.bytes;
    say(`${torrent.complete ? 'seeding' : 'downloading'} ${printable(metainfo.name)}: ${formatBytes(metainfo.length)}, ${plural(metainfo.pieceCount, 'piece')}, into ${dir} (port ${session.port})`);
    if (startBytes > 0 && !torrent.complete) say(`resuming: ${torrent.progress.pieces} of ${metainfo.pieceCount} pieces already verified`);

    let finishedAt: number | undefined;
    let failure: Error | undefined;
    const interrupt = untilInterrupted();
    const outcome = await new Promise<'complete' | 'interrupted' | 'error' | 'seed-limit'>((done) => {
      torrent.on((e) => {
        if (e.type === 'error') {
          failure = e.error;
          done('error');
        }
        if (e.type === 'complete') {
          finishedAt ??= performance.now();
          if (!seed) done('complete');
          else say(`download complete; seeding${seedRatio !== undefined ? ` until ratio ${seedRatio}` : ''}${seedMinutes !== undefined ? ` for ${seedMinutes} min` : ''} (Ctrl-C to stop)`);
        }
      });
      if (torrent.complete && !seed) done('complete');
      void interrupt.promise.then(() => done('interrupted'));
      if (seed) {
        const check = setInterval(() => {
          if (finishedAt === undefined) return;
          const ratio = torrent.uploaded / metainfo.length;
          if ((seedRatio !== undefined && ratio >= seedRatio) || (seedMinutes !== undefined && performance.now() - finishedAt >= seedMinutes * 60_000)) done('seed-limit');
        }, 1000);
        check.unref();
        torrent.on((e) => e.type === 'error' && clearInterval(check));
      }
      status.start();
    });
    interrupt.dispose();
    status.stop();
    const progress = torrent.progress;
    await session.close();
    udp?.close();

    if (outcome === 'error') {
      process.stderr.write(`peerkit: ${storageMessage(failure!)}\n`);
      process.stderr.write(`peerkit: stopped with ${progress.pieces} of ${metainfo.pieceCount} pieces verified and kept\n`);
      return 1;
    }
    const secs = ((finishedAt ?? performance.now()) - startedAt) / 1000;
    const got = progress.bytes - startBytes;
    if (outcome === 'interrupted' && !torrent.complete) {
      process.stderr.write(`peerkit: stopped at ${((100 * progress.bytes) / Math.max(1, progress.total)).toFixed(1)}%: ${progress.pieces} of ${metainfo.pieceCount} pieces verified and kept; run the same command to resume\n`);
      return 130;
    }
    const rate = secs > 0 ? ` (${formatRate(got / secs)})` : '';
    process.stdout.write(
      `${got > 0 ? `downloaded ${formatBytes(got)} in ${secs < 60 ? `${secs.toFixed(1)} s` : formatDuration(secs)}${rate}` : 'nothing to download: every piece was already verified'}; ` +
        `uploaded ${formatBytes(torrent.uploaded)}; ${printable(metainfo.name)} is complete in ${dir}\n`,
    );
    return 0;
  },
};
