import { BencodeError } from '../bencode/index.js';
import { DhtError } from '../dht/index.js';
import { MetainfoError } from '../metainfo/index.js';
import { OverlayError } from '../overlay/index.js';
import { StorageError } from '../storage/index.js';
import { TrackerError } from '../tracker/index.js';
import { DaemonError } from '../web/index.js';
import { createCommand } from './commands/create.js';
import { daemonCommand } from './commands/daemon.js';
import { demoCommand } from './commands/demo.js';
import { dhtCommand } from './commands/dht.js';
import { directoryKind } from './commands/directory.js';
import { floodKind } from './commands/flood.js';
import { getCommand } from './commands/get.js';
import { infoCommand } from './commands/info.js';
import { labCommand } from './commands/lab.js';
import { seedCommand } from './commands/seed.js';
import { superpeerKind } from './commands/superpeer.js';
import { trackerCommand } from './commands/tracker.js';
import { CommandError, UsageError } from './errors.js';
import { overlayCommand } from './overlay.js';
import { VERSION } from './version.js';

/*
 * The `peerkit` command. Every failure is one line on stderr and a non-zero
 * exit (1 for a failed operation, 2 for a usage mistake); a stack trace is
 * printed only when PEERKIT_DEBUG is set.
 */

export interface Command {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  run(args: readonly string[]): Promise<number>;
}

const commands: readonly Command[] = [daemonCommand, getCommand, seedCommand, createCommand, infoCommand, trackerCommand, dhtCommand, overlayCommand(directoryKind), overlayCommand(floodKind), overlayCommand(superpeerKind), labCommand, demoCommand];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    `peerkit ${VERSION}: peer-to-peer file sharing (BitTorrent, DHT, search overlays)`,
    '',
    'Usage: peerkit <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `peerkit <command> --help` for the options of a command.',
  ].join('\n');
}

export async function run(argv: readonly string[]): Promise<number> {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    // `peerkit info x.torrent | head` closes the pipe early: not an error.
    if (e.code === 'EPIPE') process.exit(0);
  });
  const [name, ...rest] = argv;
  if (name === 'help' && rest[0] !== undefined) {
    // `peerkit help create` is `peerkit create --help`.
    return run([rest[0], '--help']);
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    process.stdout.write(`peerkit ${VERSION}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  try {
    if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (try \`peerkit --help\`)`);
    return await command.run(rest);
  } catch (e) {
    return report(e, command);
  }
}

function report(e: unknown, command: Command | undefined): number {
  if (process.env['PEERKIT_DEBUG'] !== undefined && e instanceof Error) process.stderr.write(`${e.stack ?? e.message}\n`);
  if (e instanceof UsageError) {
    const hint = command !== undefined ? ` (see \`peerkit ${e.command ?? command.name} --help\`)` : '';
    process.stderr.write(`peerkit: ${oneLine(e.message)}${hint}\n`);
    return 2;
  }
  if (e instanceof CommandError || e instanceof MetainfoError || e instanceof BencodeError || e instanceof TrackerError || e instanceof StorageError || e instanceof DhtError || e instanceof OverlayError || e instanceof DaemonError) {
    process.stderr.write(`peerkit: ${oneLine(e.message)}\n`);
    return 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === 'string' && typeof err.message === 'string') {
    // A system error (ENOENT, EACCES, EEXIST...): its message already names the path.
    process.stderr.write(`peerkit: ${oneLine(err.message)}\n`);
    return 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`peerkit: unexpected error: ${oneLine(message)} (set PEERKIT_DEBUG=1 for details)\n`);
  return 1;
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
