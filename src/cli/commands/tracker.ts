import { readFile } from 'node:fs/promises';
import { MetainfoError } from '../../metainfo/index.js';
import { startTrackerServer } from '../../tracker/index.js';
import { parseCommandLine } from '../args.js';
import { UsageError } from '../errors.js';
import type { Command } from '../main.js';

const usage = `Usage: peerkit tracker [options]

Run a BitTorrent tracker: HTTP announce and scrape (BEP 3, 23, 7, 48), UDP
(BEP 15), JSON figures at /stats and a small page at /. Stops on Ctrl-C.

Options:
      --host <address>       address to listen on (default: 127.0.0.1)
      --http-port <n>        HTTP port, 0 for any free one, off to disable (default: 8000)
      --udp-port <n>         UDP port, 0 for any free one, off to disable (default: 8000)
      --interval <seconds>   how often clients re-announce (default: 1800)
      --allow-list <file>    track only the info hashes in this file (40 hex
                             digits per line; # starts a comment)
      --allow-ip-param       trust the ip= parameter of announces (only
                             behind a proxy you run)`;

export const trackerCommand: Command = {
  name: 'tracker',
  summary: 'run a BitTorrent tracker (HTTP and UDP)',
  usage,
  async run(args) {
    const parsed = parseCommandLine(
      args,
      {
        host: { type: 'string' },
        'http-port': { type: 'string' },
        'udp-port': { type: 'string' },
        interval: { type: 'string' },
        'allow-list': { type: 'string' },
        'allow-ip-param': { type: 'boolean' },
      },
      usage,
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const interval = values.interval === undefined ? 1800 : Number(values.interval);
    if (!Number.isInteger(interval) || interval < 1 || interval > 86_400) throw new UsageError('--interval must be a whole number of seconds from 1 to 86400');
    const allowList = values['allow-list'] === undefined ? undefined : await readAllowList(values['allow-list']);

    const httpPort = port(values['http-port'], '--http-port');
    const udpPort = port(values['udp-port'], '--udp-port');
    if (httpPort === null && udpPort === null) throw new UsageError('both HTTP and UDP are off: nothing to serve');

    const server = await startTrackerServer({
      host: values.host ?? '127.0.0.1',
      httpPort,
      udpPort,
      interval,
      allowIpParam: values['allow-ip-param'] === true,
      ...(allowList !== undefined && { allowList }),
    }).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') throw new MetainfoError('io', `port already in use (${e.message.replace(/^listen |^bind /, '')}): choose another with --http-port / --udp-port`);
      if (e.code === 'EADDRNOTAVAIL') throw new MetainfoError('io', `cannot listen on ${values.host ?? '127.0.0.1'}: no such local address`);
      throw e;
    });
    // Once, on stderr: which UDP path this process runs (the native batch socket, or node:dgram and why).
    const path = server.udpPath;
    if (path !== undefined) {
      process.stderr.write(
        path.kind === 'batch'
          ? `peerkit tracker: UDP on the native batch socket (recvmmsg/sendmmsg, up to ${path.batch} datagrams a call)\n`
          : `peerkit tracker: UDP on node:dgram (${path.reason})\n`,
      );
    }
    const lines = ['peerkit tracker running'];
    if (server.httpUrl !== undefined) lines.push(`  announce  ${server.httpUrl}`, `  stats     ${server.httpUrl.replace(/announce$/, 'stats')}`);
    if (server.udpUrl !== undefined) lines.push(`  announce  ${server.udpUrl}`);
    if (allowList !== undefined) lines.push(`  allow list: ${allowList.size} torrents`);
    lines.push('Ctrl-C to stop.');
    process.stdout.write(`${lines.join('\n')}\n`);

    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    await server.close();
    return 0;
  },
};

function port(v: string | undefined, flag: string): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'off') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} must be a port from 0 to 65535, or off`);
  return n;
}

async function readAllowList(path: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new MetainfoError('io', `${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(e)}`);
  }
  const out = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    if (!/^[0-9a-fA-F]{40}$/.test(line)) throw new MetainfoError('bad-value', `${path} line ${i + 1}: expected 40 hex digits, got ${JSON.stringify(line.slice(0, 50))}`);
    out.add(Buffer.from(line, 'hex').toString('latin1'));
  });
  return out;
}
