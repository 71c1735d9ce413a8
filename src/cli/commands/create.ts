import { constants, existsSync } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { checkPieceLength, createTorrent, formatMagnet, MetainfoError, safeComponent } from '../../metainfo/index.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import { formatBytes, parseSize, plural } from '../format.js';
import type { Command } from '../main.js';
import { ProgressBar } from '../progress.js';
import { VERSION } from '../version.js';

const usage = `Usage: peerkit create <file or folder> [options]

Create a .torrent (BitTorrent v1) and print its infohash and magnet link.

Options:
  -t, --tracker <url>       announce URL; repeat for backup tiers, or give
                            several comma-separated URLs for one tier
  -o, --output <file>       where to write the .torrent (default: <name>.torrent;
                            - for stdout)
  -l, --piece-length <n>    piece size in bytes or with a unit (256K, 1MiB);
                            a power of two from 16 KiB to 256 MiB
                            (default: 1,000 to 2,000 pieces, 16 KiB to 16 MiB)
  -p, --private             private torrent (BEP 27): trackers only, no DHT/PEX
  -w, --web-seed <url>      web seed URL (BEP 19); repeatable
  -c, --comment <text>      comment
  -n, --name <name>         torrent name (default: the file or folder name)
  -s, --source <text>       source tag (changes the infohash, as mktorrent -s)
      --skip-hidden         leave out files and folders starting with a dot
      --no-date             do not record the creation date
  -f, --force               overwrite the output file if it exists
      --threads <n>         hashing threads (default: one per core)
      --json                print the result as JSON`;

export const createCommand: Command = {
  name: 'create',
  summary: 'create a .torrent from a file or folder',
  usage,
  async run(args) {
    const parsed = parseCommandLine(
      args,
      {
        tracker: { type: 'string', short: 't', multiple: true },
        output: { type: 'string', short: 'o' },
        'piece-length': { type: 'string', short: 'l' },
        private: { type: 'boolean', short: 'p' },
        'web-seed': { type: 'string', short: 'w', multiple: true },
        comment: { type: 'string', short: 'c' },
        name: { type: 'string', short: 'n' },
        source: { type: 'string', short: 's' },
        'skip-hidden': { type: 'boolean' },
        'no-date': { type: 'boolean' },
        force: { type: 'boolean', short: 'f' },
        threads: { type: 'string' },
        json: { type: 'boolean' },
      },
      usage,
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the file or folder to share' : 'give exactly one file or folder');
    const path = positionals[0]!;

    // Check everything that can be checked before hashing, which can take minutes.
    let pieceLength: number | undefined;
    if (values['piece-length'] !== undefined) {
      pieceLength = parseSize(values['piece-length']);
      if (pieceLength === undefined) throw new UsageError(`--piece-length ${JSON.stringify(values['piece-length'])} is not a size`);
      try {
        checkPieceLength(pieceLength);
      } catch (e) {
        throw new UsageError(`--piece-length ${values['piece-length']}: must be a power of two from 16 KiB to 256 MiB`, { cause: e });
      }
    }
    let workers: number | undefined;
    if (values.threads !== undefined) {
      workers = Number(values.threads);
      if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw new UsageError('--threads must be a whole number from 1 to 64');
    }
    const trackers = (values.tracker ?? []).map((t) => t.split(',').map((u) => u.trim()).filter((u) => u.length > 0));
    const name = safeComponent(values.name ?? basename(resolve(path)), 'name');
    const toStdout = values.output === '-';
    const output = toStdout ? undefined : resolve(values.output ?? `${name}.torrent`);
    if (output !== undefined) await checkWritable(output, values.force === true);

    const bar = new ProgressBar('hashing');
    const created = await createTorrent(path, {
      trackers,
      webSeeds: values['web-seed'] ?? [],
      private: values.private === true,
      skipHidden: values['skip-hidden'] === true,
      createdBy: `peerkit/${VERSION}`,
      name,
      // `peerkit create .` writes the .torrent inside the folder: never hash it into itself.
      ...(output !== undefined && { exclude: [output] }),
      ...(values['no-date'] !== true && { creationDate: Math.floor(Date.now() / 1000) }),
      ...(pieceLength !== undefined && { pieceLength }),
      ...(values.comment !== undefined && { comment: values.comment }),
      ...(values.source !== undefined && { source: values.source }),
      ...(workers !== undefined && { workers }),
      onProgress: (done, total) => bar.update(done, total),
    });
    bar.done();

    const m = created.metainfo;
    if (output === undefined) {
      process.stdout.write(created.torrent);
    } else {
      try {
        await writeFile(output, created.torrent, { flag: values.force === true ? 'w' : 'wx' });
      } catch (e) {
        throw writeError(e, output);
      }
    }

    const magnet = formatMagnet({ infoHash: m.infoHash, name: m.name, trackers: m.announceList.flat(), webSeeds: m.urlList });
    // With `-o -` the .torrent itself is on stdout, so the report goes to stderr.
    const report = toStdout ? process.stderr : process.stdout;
    if (values.json === true) {
      const json = { torrent: output ?? '-', infoHash: m.infoHashHex, magnet, name: m.name, length: m.length, pieceLength: m.pieceLength, pieces: m.pieceCount, files: m.files.length };
      report.write(`${JSON.stringify(json, null, 2)}\n`);
      return 0;
    }
    const auto = pieceLength === undefined ? ' (auto)' : '';
    report.write(
      `created ${output === undefined ? 'a .torrent on stdout' : basename(output)}: ${plural(m.files.length, 'file')}, ${formatBytes(m.length)}, ` +
        `${m.pieceCount} pieces of ${formatBytes(m.pieceLength)}${auto}\n` +
        `infohash ${m.infoHashHex}\n` +
        `magnet   ${magnet}\n`,
    );
    if (m.announceList.length === 0 && !m.private) {
      process.stderr.write('peerkit: note: no tracker given (-t): peers will have to find each other through the DHT\n');
    }
    return 0;
  },
};

/** Fail early if `output` cannot be written: it exists (without --force), or its folder is missing or read-only. */
async function checkWritable(output: string, force: boolean): Promise<void> {
  if (!force && existsSync(output)) throw new MetainfoError('io', `${output} already exists (use --force to overwrite)`);
  try {
    await access(dirname(output), constants.W_OK);
  } catch (e) {
    throw writeError(e, output);
  }
}

function writeError(e: unknown, output: string): MetainfoError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') return new MetainfoError('io', `${output} already exists (use --force to overwrite)`);
  const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EACCES' ? 'permission denied' : (code ?? String(e));
  return new MetainfoError('io', `cannot write ${output}: ${why}`);
}
