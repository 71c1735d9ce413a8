import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { startTrackerServer, type TrackerServer } from '../../tracker/index.js';
import { Daemon, daemonPaths, loadConfig } from '../../web/index.js';
import { parseCommandLine } from '../args.js';
import { CommandError, UsageError } from '../errors.js';
import type { Command } from '../main.js';
import { closeSession, openSession, parseRate, untilInterrupted } from '../transfer.js';
import { printable } from '../format.js';
import { VERSION } from '../version.js';

const usage = `Usage: peerkit daemon [options]

Run peerkit as a service, in the foreground until Ctrl-C or SIGTERM: one
BitTorrent session for all your torrents, an embedded tracker and a DHT
node, and the web UI. What \`npm start\` runs. Open the link it prints: it
logs the browser in with the token (kept in daemon.json in the config
folder; API clients send it as "Authorization: Bearer <token>"). Torrents,
their settings and resume data live in the data folder and come back at the
next start.

Options:
      --port <n>              the web UI's port (default: 9080; 0 for any free one)
      --host <address>        the web UI's address (default: 127.0.0.1, this
                              machine only; 0.0.0.0 opens it to the network)
      --allow-host <name>     also answer requests for this host name (one that
                              points at this machine); repeatable
      --download-dir <dir>    where new torrents are saved (default: downloadDir
                              in daemon.json, set at the first start to
                              downloads/ in the data folder)
      --config-dir <dir>      where daemon.json is (default: $XDG_CONFIG_HOME/peerkit,
                              that is ~/.config/peerkit)
      --data-dir <dir>        where the torrents, resume data and DHT table are
                              (default: $XDG_DATA_HOME/peerkit, ~/.local/share/peerkit)
      --peer-port <n>         port to accept peers on (default: the first free of
                              6881-6889, else any free one)
      --peer-host <address>   address to accept peers on (default: 0.0.0.0)
      --tracker-port <n>      the embedded tracker's HTTP and UDP port (default: 6969;
                              0 for any free one)
      --tracker-host <address>
                              the embedded tracker's address (default: 127.0.0.1)
      --announce-url <url>    the announce URL put in torrents you share (default:
                              the embedded tracker's)
      --no-tracker            no embedded tracker
      --max-upload <rate>     upload cap for all torrents, e.g. 500K or 2MB (bytes/s)
      --max-download <rate>   download cap, in the same form
      --bootstrap <host:port,...>
                              DHT nodes to join through (default: the public
                              routers, router.bittorrent.com:6881 and others)
      --no-dht                do not use the DHT

daemon.json may set uiPort, uiHost, peerPort, trackerPort (null: none) and
downloadDir; the options above override it for one run.`;

export const daemonCommand: Command = {
  name: 'daemon',
  summary: 'run the daemon with its web UI on http://127.0.0.1:9080 (what `npm start` runs)',
  usage,
  async run(args) {
    const parsed = parseCommandLine(
      args,
      {
        port: { type: 'string' },
        host: { type: 'string' },
        'allow-host': { type: 'string', multiple: true },
        'download-dir': { type: 'string' },
        'config-dir': { type: 'string' },
        'data-dir': { type: 'string' },
        'peer-port': { type: 'string' },
        'peer-host': { type: 'string' },
        'tracker-port': { type: 'string' },
        'tracker-host': { type: 'string' },
        'announce-url': { type: 'string' },
        'no-tracker': { type: 'boolean' },
        'max-upload': { type: 'string' },
        'max-download': { type: 'string' },
        bootstrap: { type: 'string', multiple: true },
        'no-dht': { type: 'boolean' },
      },
      usage,
    );
    if (parsed === undefined) return 0;
    const { values, positionals } = parsed;
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const uiPortFlag = port(values.port, '--port');
    const peerPortFlag = port(values['peer-port'], '--peer-port');
    const trackerPortFlag = port(values['tracker-port'], '--tracker-port');
    parseRate(values['max-upload'], '--max-upload');
    parseRate(values['max-download'], '--max-download');
    if (values['announce-url'] !== undefined && !/^(https?|udp):\/\/[^\s/]+/i.test(values['announce-url'])) throw new UsageError('--announce-url must be an http://, https:// or udp:// URL');
    for (const h of values['allow-host'] ?? []) if (!/^[a-z0-9.-]{1,253}$/i.test(h)) throw new UsageError(`--allow-host ${JSON.stringify(h)} is not a host name`);

    const paths = daemonPaths({ configDir: dir(values['config-dir']), dataDir: dir(values['data-dir']) });
    const { config, created } = await loadConfig(paths);
    const uiHost = values.host ?? config.uiHost;
    if (isIP(uiHost) === 0 && uiHost !== 'localhost') {
      const from = values.host !== undefined ? '--host' : `"uiHost" in ${paths.configFile}`;
      throw new UsageError(`${from} ${JSON.stringify(uiHost)} must be an IP address or localhost`);
    }
    const uiPort = uiPortFlag ?? config.uiPort;
    const downloadDir = resolve(values['download-dir'] ?? config.downloadDir);
    const trackerPort = values['no-tracker'] === true ? null : (trackerPortFlag ?? config.trackerPort);
    // What a torrent names (its file names, its trackers' messages) reaches the log: escaped, so it cannot drive the terminal.
    const warn = (m: string): void => void process.stderr.write(`peerkit: ${m.split('\n').map(printable).join('\n')}\n`);

    let tracker: TrackerServer | undefined;
    if (trackerPort !== null) {
      const host = values['tracker-host'] ?? '127.0.0.1';
      tracker = await startTrackerServer({ host, httpPort: trackerPort, udpPort: trackerPort }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'EADDRINUSE') throw new CommandError(`the embedded tracker's port ${trackerPort} is already in use: choose another with --tracker-port, or --no-tracker`);
        if (e.code === 'EADDRNOTAVAIL') throw new CommandError(`cannot listen on ${host}: no such local address (see --tracker-host)`);
        throw e;
      });
    }
    const peerPort = peerPortFlag ?? (config.peerPort === 0 ? undefined : config.peerPort);
    const sessionFlags = {
      port: peerPort === undefined ? undefined : String(peerPort),
      host: values['peer-host'],
      'max-upload': values['max-upload'],
      'max-download': values['max-download'],
      bootstrap: values.bootstrap,
      'no-dht': values['no-dht'],
    };
    const opened = await openSession(sessionFlags, { udpTrackers: true, dht: true, dhtState: paths.dhtState, warn, flagNames: { port: '--peer-port', host: '--peer-host' } }).catch(async (e: unknown) => {
      await tracker?.close();
      throw e;
    });
    void opened.joined;
    const trackerUrl = values['announce-url'] ?? announceUrl(tracker);

    let daemon: Daemon;
    try {
      daemon = await Daemon.start(
        { session: opened.session, dht: opened.dht?.node, tracker },
        { paths, token: config.token, host: uiHost, port: uiPort, allowedHosts: values['allow-host'] ?? [], downloadDir, trackerUrl, version: VERSION, log: warn },
      );
    } catch (e) {
      await closeSession(opened);
      await tracker?.close();
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new CommandError(`the web UI's port ${uiPort} is already in use (another daemon?): choose another with --port`);
      if (code === 'EADDRNOTAVAIL') throw new CommandError(`cannot listen on ${uiHost}: no such local address (see --host)`);
      throw e;
    }
    // A link this machine's browser can open: the wildcard addresses are reached through loopback.
    const linkHost = uiHost === '0.0.0.0' ? '127.0.0.1' : uiHost === '::' ? '::1' : uiHost;
    const base = `http://${linkHost.includes(':') ? `[${linkHost}]` : linkHost}:${daemon.port}`;
    const lines = [
      `peerkit daemon ${VERSION}`,
      `  web UI   ${base}/login?token=${config.token}`,
      `           (open this link to log in; the token is in ${paths.configFile}${created ? ', created now' : ''})`,
      `  API      ${base}/api/  with  Authorization: Bearer ${config.token}`,
      `  peers    port ${opened.session.port}`,
      `  tracker  ${tracker === undefined ? 'off' : [tracker.httpUrl, tracker.udpUrl].filter((u) => u !== undefined).join('  ')}`,
      `  DHT      ${opened.dht === undefined ? 'off' : `port ${opened.dht.node.local.port}`}`,
      `  data     ${paths.dataDir}`,
      `  saving   ${downloadDir}`,
      `  torrents ${daemon.manager.size}`,
      'Ctrl-C to stop.',
    ];
    if (uiHost === '0.0.0.0' || uiHost === '::') lines.splice(1, 0, '  note: the web UI is open to the network (--host); anyone who has the token can control it');
    process.stdout.write(`${lines.join('\n')}\n`);

    const interrupt = untilInterrupted();
    const signal = await interrupt.promise;
    process.stdout.write(`${signal}: stopping (trackers are told, resume data is written)...\n`);
    await daemon.close();
    await closeSession(opened);
    await tracker?.close();
    interrupt.dispose();
    process.stdout.write('stopped\n');
    return 0;
  },
};

function port(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${flag} ${JSON.stringify(v)} must be a port from 0 to 65535`);
  return n;
}

function dir(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.trim() === '') throw new UsageError('a folder option cannot be empty');
  return resolve(v);
}

/** The embedded tracker's HTTP announce URL, with an address others can use (not 0.0.0.0). */
function announceUrl(tracker: TrackerServer | undefined): string | undefined {
  const url = tracker?.httpUrl;
  if (url === undefined) return undefined;
  return url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
}
