import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { encode, utf8Bytes } from '../../bencode/index.js';
import { formatKeyFile, generateKeys, idFromHex, idHex, MAX_ITEM_VALUE_LENGTH, MAX_SALT_LENGTH, parseKeyFile, type Ed25519Keys, type NodeId } from '../../dht/index.js';
import { isMagnet, MetainfoError, parseMagnet } from '../../metainfo/index.js';
import { parseCommandLine } from '../args.js';
import { JOIN_OPTIONS, JOIN_USAGE, showValue, withDht } from '../dht.js';
import { CommandError, UsageError } from '../errors.js';
import { plural } from '../format.js';

/*
 * The one-shot forms of `peerkit dht`: join the DHT (withDht), do one thing
 * (put, get, peers), print, leave; and keygen, which makes the key mutable
 * items are signed with.
 */

export interface Subcommand {
  readonly name: string;
  run(args: readonly string[]): Promise<number>;
}

const putUsage = `Usage: peerkit dht put <value> [options]
       peerkit dht put --key <keyfile> [--salt <s>] [--seq <n>] <value>

Store a value in the DHT (BEP 44) and print its target: the 40 hex digits
\`peerkit dht get\` finds it by. The value is a UTF-8 string, stored as a
bencoded byte string: at most ${MAX_ITEM_VALUE_LENGTH} bytes with its length prefix. Nodes may
drop an item after two hours: put it again to keep it.

Without --key the item is immutable: its target is the SHA-1 of the
value, and the same value always has the same target. With --key it is
mutable: signed with the key, its target is the SHA-1 of the public key
and the salt, and a put with a higher sequence number replaces it. The
public key and seq are printed on stderr, with how many nodes stored it.
Exits 1 when no node stored it.

Options:
      --key <keyfile>      sign with this key (from \`peerkit dht keygen\`,
                           or an ed25519 PEM private key)
      --salt <s>           one of the key's items, by name (UTF-8, up to
                           ${MAX_SALT_LENGTH} bytes; default: none)
      --seq <n>            sequence number (default: one more than the
                           newest in the DHT, or 1)
${JOIN_USAGE}`;

const getUsage = `Usage: peerkit dht get <target> [options]
       peerkit dht get --key <public key | keyfile> [--salt <s>] [options]

Read a value from the DHT (BEP 44) and print it. By <target> (40 hex
digits, as \`peerkit dht put\` prints): an immutable item, checked against
its target. With --key: the newest mutable item of that public key (64 hex
digits, or a key file) and salt, checked against its signature; its seq
is printed on stderr.

A byte string is printed as it is, followed by a newline (on a terminal,
control characters are escaped and a value that is not UTF-8 is shown in
hex). Any other value is printed as one line of JSON, byte strings as text
when they are UTF-8 and as "hex:<digits>" otherwise. Exits 1 when no node
has the item.

Options:
      --key <key>          a public key (64 hex digits) or a key file
      --salt <s>           the item's salt (UTF-8; default: none)
${JOIN_USAGE}`;

const peersUsage = `Usage: peerkit dht peers <infohash | magnet link> [options]

Find peers of a torrent in the DHT (get_peers, BEP 5) and print them, one
host:port per line. Exits 1 when there are none.

Options:
      --announce <port>    first announce that we have the torrent, on this
                           TCP port (at the address this command sends from);
                           then exits 1 only if no node took the announce
${JOIN_USAGE}`;

const keygenUsage = `Usage: peerkit dht keygen <keyfile>

Create an ed25519 key for mutable items (\`peerkit dht put --key\`) and
print its public key, 64 hex digits. The file holds the private key (its
32-byte seed in hex), readable only by you; an existing file is never
overwritten.`;

export const subcommands: readonly Subcommand[] = [
  {
    name: 'put',
    async run(args) {
      const parsed = parseCommandLine(args, { key: { type: 'string' }, salt: { type: 'string' }, seq: { type: 'string' }, ...JOIN_OPTIONS }, putUsage);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the value to put' : 'give one value (quote it if it has spaces)');
      const value = encode(utf8Bytes(positionals[0]!));
      if (value.length > MAX_ITEM_VALUE_LENGTH) throw new UsageError(`the value is ${value.length} bytes bencoded, the limit is ${MAX_ITEM_VALUE_LENGTH} (BEP 44)`);
      const salt = saltOf(values.salt);
      const seq = seqOf(values.seq);
      if (values.key === undefined) {
        if (salt !== undefined || seq !== undefined) throw new UsageError('--salt and --seq are for mutable items: give --key too');
        const put = await withDht(values, (node) => node.putImmutable(value));
        if (put.stored === 0) throw new CommandError(`no node stored the value (${plural(put.lookup.closest.length, 'node')} asked)`);
        process.stdout.write(`${idHex(put.target)}\n`);
        process.stderr.write(`stored on ${put.stored} of ${plural(put.lookup.closest.length, 'node')}\n`);
        return 0;
      }
      const keys = await readKeys(values.key);
      const put = await withDht(values, (node) => node.putMutable(keys, value, { ...(salt !== undefined && { salt }), ...(seq !== undefined && { seq }) }));
      if (put.stored === 0) {
        const why = seq !== undefined ? `: a node may hold seq ${seq} or higher already (leave out --seq to take the next one)` : '';
        throw new CommandError(`no node stored seq ${put.seq} (${plural(put.lookup.closest.length, 'node')} asked)${why}`);
      }
      process.stdout.write(`${idHex(put.target)}\n`);
      process.stderr.write(`public key ${hex(keys.publicKey)}\nseq ${put.seq}, stored on ${put.stored} of ${plural(put.lookup.closest.length, 'node')}\n`);
      return 0;
    },
  },
  {
    name: 'get',
    async run(args) {
      const parsed = parseCommandLine(args, { key: { type: 'string' }, salt: { type: 'string' }, ...JOIN_OPTIONS }, getUsage);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      const terminal = process.stdout.isTTY === true;
      if (values.key === undefined) {
        if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the target (40 hex digits), or --key for a mutable item' : 'give one target');
        if (values.salt !== undefined) throw new UsageError('--salt is for mutable items: give --key too');
        const target = targetOf(positionals[0]!, 'a target');
        const got = await withDht(values, (node) => node.getImmutable(target));
        if (got.item === undefined) throw new CommandError(`not found: none of the ${plural(got.lookup.closest.length, 'node')} closest to ${idHex(target)} has it`);
        process.stdout.write(showValue(got.item, terminal));
        return 0;
      }
      if (positionals.length > 0) throw new UsageError('give a target or --key, not both');
      const salt = saltOf(values.salt);
      const publicKey = await publicKeyOf(values.key);
      const got = await withDht(values, (node) => node.getMutable(publicKey, salt));
      if (got.item === undefined) throw new CommandError(`not found: no item of public key ${hex(publicKey)}${salt !== undefined ? ` with salt ${JSON.stringify(values.salt)}` : ' without a salt'} among the ${plural(got.lookup.closest.length, 'node')} asked`);
      process.stdout.write(showValue(got.item.v, terminal));
      process.stderr.write(`seq ${got.item.seq}\n`);
      return 0;
    },
  },
  {
    name: 'peers',
    async run(args) {
      const parsed = parseCommandLine(args, { announce: { type: 'string' }, ...JOIN_OPTIONS }, peersUsage);
      if (parsed === undefined) return 0;
      const { values, positionals } = parsed;
      if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the infohash (40 hex digits) or magnet link' : 'give one infohash');
      const infoHash = infoHashOf(positionals[0]!);
      let announce: number | undefined;
      if (values.announce !== undefined) {
        announce = Number(values.announce);
        if (!Number.isInteger(announce) || announce < 1 || announce > 65535) throw new UsageError(`--announce ${JSON.stringify(values.announce)} must be a port from 1 to 65535`);
      }
      const found = await withDht(values, async (node) => (announce === undefined ? { ...(await node.getPeers(infoHash)), stored: undefined } : node.announce(infoHash, announce)));
      const asked = plural(found.lookup.closest.length, 'node');
      process.stdout.write(found.peers.map((p) => `${p.host}:${p.port}\n`).join(''));
      if (found.stored === undefined) {
        if (found.peers.length === 0) throw new CommandError(`no peers found for ${idHex(infoHash)} (${asked} asked)`);
        return 0;
      }
      if (found.stored === 0) throw new CommandError(`no node took the announce (${asked} asked)`);
      process.stderr.write(`announced port ${announce} to ${found.stored} of ${asked}\n`);
      return 0;
    },
  },
  {
    name: 'keygen',
    async run(args) {
      const parsed = parseCommandLine(args, {}, keygenUsage);
      if (parsed === undefined) return 0;
      const { positionals } = parsed;
      if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'missing the key file to write' : 'give one key file');
      const path = positionals[0]!;
      const keys = generateKeys();
      try {
        await writeFile(path, formatKeyFile(keys), { mode: 0o600, flag: 'wx' });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new CommandError(`${path} already exists: not overwriting a key (choose another file name)`);
        throw e;
      }
      process.stdout.write(`${hex(keys.publicKey)}\n`);
      process.stderr.write(`wrote the private key to ${path}: keep it secret, it signs your items\n`);
      return 0;
    },
  },
];

/** `what` with its article: 'a target', 'an infohash'. */
function targetOf(s: string, what: string): NodeId {
  const id = idFromHex(s);
  if (id === undefined) throw new UsageError(`${JSON.stringify(s)} is not ${what}: expected 40 hex digits`);
  return id;
}

function infoHashOf(s: string): NodeId {
  if (!isMagnet(s)) return targetOf(s, 'an infohash');
  let hash: Uint8Array | undefined;
  try {
    hash = parseMagnet(s).infoHash;
  } catch (e) {
    if (e instanceof MetainfoError) throw new UsageError(e.message);
    throw e;
  }
  if (hash === undefined) throw new UsageError('the magnet link has no BitTorrent v1 infohash (btih), which is what the DHT looks up');
  return hash;
}

function saltOf(s: string | undefined): Uint8Array | undefined {
  if (s === undefined || s === '') return undefined;
  const salt = utf8Bytes(s);
  if (salt.length > MAX_SALT_LENGTH) throw new UsageError(`--salt is ${salt.length} bytes, the limit is ${MAX_SALT_LENGTH} (BEP 44)`);
  return salt;
}

function seqOf(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const n = Number(s);
  if (s.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new UsageError(`--seq ${JSON.stringify(s)} must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  return n;
}

const MAX_KEY_FILE = 64 * 1024;

/** The key pair in a key file; a missing file is explained with the command that makes one. */
async function readKeys(path: string): Promise<Ed25519Keys> {
  if (/^[0-9a-fA-F]{64}$/.test(path) && !existsSync(path)) throw new UsageError('--key for put is the key file (the private key), not a public key');
  let text: string;
  try {
    if ((await stat(path)).size > MAX_KEY_FILE) throw new CommandError(`${path}: not a key file (over ${MAX_KEY_FILE} bytes)`);
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CommandError(`no key file ${path}: create one with \`peerkit dht keygen ${path}\``);
    throw e;
  }
  try {
    return parseKeyFile(text);
  } catch (e) {
    // parseKeyFile only parses: whatever it throws is about the file's contents.
    throw new CommandError(`${path}: ${(e as Error).message}`);
  }
}

/** `--key` of get: 64 hex digits, or a key file to take the public key from. */
async function publicKeyOf(key: string): Promise<Uint8Array> {
  if (/^[0-9a-fA-F]{64}$/.test(key) && !existsSync(key)) return new Uint8Array(Buffer.from(key, 'hex'));
  if (!existsSync(key)) throw new CommandError(`--key ${JSON.stringify(key)} is neither a public key (64 hex digits) nor a key file (create a key with \`peerkit dht keygen <keyfile>\`)`);
  return (await readKeys(key)).publicKey;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
