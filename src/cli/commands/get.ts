import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fetchMetadata, type FetchEvent } from '../../engine/index.js';
import { isMagnet, parseMagnet, parseTorrent, torrentFromInfo, type Metainfo } from '../../metainfo/index.js';
import type { Endpoint } from '../../net/index.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, plural, printable } from '../format.js';
import type { Command } from '../main.js';
import { ProgressBar } from '../progress.js';
import { readTorrentFile } from '../torrent-file.js';
import { closeSession, formatDuration, formatRate, openSession, parseEndpoint, positiveNumber, reportEvents, SESSION_OPTIONS, SESSION_USAGE, startTransfer, StatusLine, storageMessage, untilInterrupted, type OpenSession, type SessionFlags } from '../transfer.js';

const usage = `Usage: peerkit get <file.torrent | magnet link> [options]

Download a torrent: ask its trackers and the DHT for peers, trade pieces with them
(rarest first, tit-for-tat), verify every piece (SHA-1) and write it to disk.
Exits 0 as soon as every piece is verified on disk, unless --seed is given.
Ctrl-C stops cleanly; run the same command again to resume: verified pieces
are remembered and not downloaded again.

A magnet link ("magnet:?xt=urn:btih:<info hash>&tr=...", quote it in the
shell) needs no .torrent: peers come from the DHT, the link's trackers (tr=)
and peers (x.pe=), and the torrent's metadata from those peers (BEP 9),
checked against the info hash. It waits for a peer with the metadata until
Ctrl-C.

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
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the .torrent or magnet link to download' : 'give exactly one .torrent or magnet link');
    const source = positionals[0]!;
    const seedRatio = positiveNumber(values['seed-ratio'], '--seed-ratio');
    const seedMinutes = positiveNumber(values['seed-time'], '--seed-time');
    const seed = values.seed === true || seedRatio !== undefined || seedMinutes !== undefined;
    const dir = resolve(values.output ?? '.');
    const st = await stat(dir).catch(() => undefined);
    if (st !== undefined && !st.isDirectory()) throw new UsageError(`--output ${dir} is not a folder`);

    let metainfo: Metainfo;
    let fromMagnet: { opened: OpenSession; peers: readonly Endpoint[] } | undefined;
    if (isMagnet(source)) {
      const got = await metadataFromMagnet(source, values);
      if (got === undefined) return 130;
      metainfo = got.metainfo;
      fromMagnet = got;
    } else {
      metainfo = await readTorrentFile(source);
    }
    const bar = new ProgressBar('checking');
    const running = await startTransfer(metainfo, dir, values, { onCheck: (d, t) => bar.update(d, t), ...(fromMagnet !== undefined && { opened: fromMagnet.opened, peers: fromMagnet.peers }) });
    const { session, torrent } = running;
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
    await closeSession(running);

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

/**
 * A magnet link's metadata: open the session (with the DHT unless
 * --no-dht), find peers, fetch and check the info dictionary. Undefined
 * when interrupted (Ctrl-C).
 */
async function metadataFromMagnet(link: string, flags: SessionFlags): Promise<{ metainfo: Metainfo; opened: OpenSession; peers: readonly Endpoint[] } | undefined> {
  const magnet = parseMagnet(link);
  if (magnet.infoHash === undefined) throw new UsageError('the magnet link has no BitTorrent v1 info hash (xt=urn:btih:...), which this version needs');
  const given = [...magnet.peers.map((p) => parseEndpoint(p, 'x.pe')), ...(flags.peer ?? []).map((p) => parseEndpoint(p, '--peer'))];
  if (flags['no-dht'] === true && magnet.trackers.length === 0 && given.length === 0) {
    throw new UsageError('with --no-dht, a magnet link needs trackers (tr=) or peers (x.pe= or --peer) to find the metadata');
  }
  const say = (m: string): void => void process.stderr.write(`peerkit: ${m}\n`);
  const verbose = flags.verbose === true;
  const opened = await openSession(flags, { udpTrackers: magnet.trackers.some((t) => t.startsWith('udp:')), dht: true, warn: say });
  const interrupt = untilInterrupted();
  const abort = new AbortController();
  void interrupt.promise.then(() => abort.abort());
  const hash = magnet.infoHashHex!;
  say(`fetching the metadata of ${magnet.name !== undefined ? `${printable(magnet.name)} (${hash})` : hash} from peers`);
  try {
    if (opened.dht !== undefined) {
      const nodes = await Promise.race([opened.joined, interrupt.promise.then(() => -1)]);
      if (nodes < 0) {
        await closeSession(opened);
        process.stderr.write('peerkit: interrupted before the metadata arrived; nothing was downloaded\n');
        return undefined;
      }
      if (verbose) say(`DHT: ${plural(nodes, 'node')} in the routing table`);
    }
    const onEvent = (e: FetchEvent): void => {
      if (e.type === 'size') say(`metadata: ${formatBytes(e.bytes)} in ${plural(e.pieces, 'piece')}`);
      else if (e.type === 'bad-metadata') say(`metadata did not match the info hash; dropped ${e.peers.join(', ')} and trying again`);
      else if (verbose && e.type === 'peers' && e.count > 0) say(`${plural(e.count, 'peer')} from ${e.source}`);
      else if (verbose && e.type === 'connected') say(`connected to ${e.address}${e.hasMetadata ? '' : ' (it has no metadata to give)'}`);
    };
    const fetched = await fetchMetadata(opened.session, magnet.infoHash, { peers: given, trackers: magnet.trackers, signal: abort.signal, onEvent });
    const metainfo = parseTorrent(torrentFromInfo(fetched.info, magnet.trackers));
    // BEP 27: a private torrent's peers come from its trackers only (and those the user named), not the DHT.
    return { metainfo, opened, peers: metainfo.private ? given : fetched.peers };
  } catch (e) {
    await closeSession(opened);
    if (abort.signal.aborted) {
      process.stderr.write('peerkit: interrupted before the metadata arrived; nothing was downloaded\n');
      return undefined;
    }
    throw e;
  } finally {
    interrupt.dispose();
  }
}
