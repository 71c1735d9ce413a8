import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encode } from '../../src/bencode/index.js';
import { DhtNode, idHex, immutableTarget, mutableTarget, parseKeyFile, randomId, readDhtState, writeDhtState } from '../../src/dht/index.js';
import { bindUdp, seededRandom, type DatagramSocket } from '../../src/net/index.js';
import { BIN, isCleanFailure, peerkit } from './run.js';

/*
 * `peerkit dht` against a small DHT on loopback: twelve in-process nodes
 * joined to each other. Every command is given --bootstrap (these nodes,
 * or a loopback port that never answers), and XDG_DATA_HOME is a temporary
 * folder, so no test ever reaches the public routers or the user's state.
 */

const COUNT = 12;
const nodes: DhtNode[] = [];
let silent: DatagramSocket;
let dir: string;
let bootstrap: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'peerkit-cli-dht-'));
  const random = seededRandom(1);
  for (let i = 0; i < COUNT; i++) {
    const socket = await bindUdp('127.0.0.1', 0);
    nodes.push(new DhtNode({ socket, random, queryRate: Infinity, ...(i > 0 && { bootstrap: [nodes[0]!.local] }) }));
  }
  for (const n of nodes.slice(1)) await n.bootstrap();
  for (const n of nodes) await n.findNode(n.id);
  bootstrap = `127.0.0.1:${nodes[0]!.local.port}`;
  // A port that takes datagrams and never answers: a bootstrap node that is down.
  silent = await bindUdp('127.0.0.1', 0);
});

after(async () => {
  for (const n of nodes) n.close();
  silent.close();
  await rm(dir, { recursive: true, force: true });
});

const env = (name = 'xdg'): Record<string, string> => ({ XDG_DATA_HOME: join(dir, name) });
/** The options that keep a command on the test network (a function: `bootstrap` is known only after `before`). */
const onTestNet = (): string[] => ['--host', '127.0.0.1', '--bootstrap', bootstrap, '--timeout', '20'];

function dht(args: string[], name?: string): ReturnType<typeof peerkit> {
  return peerkit(['dht', ...args], { env: env(name) });
}

describe('peerkit dht put / get (BEP 44)', () => {
  it('puts an immutable value and gets it back by its target', async () => {
    const text = 'hello DHT \u2713';
    const put = await dht(['put', text, ...onTestNet()]);
    assert.equal(put.code, 0, put.stderr);
    const target = idHex(immutableTarget(encode(text)));
    assert.equal(put.stdout, `${target}\n`);
    assert.match(put.stderr, /^stored on (\d+) of \d+ nodes\n$/);
    assert.ok(Number(/stored on (\d+)/.exec(put.stderr)![1]) >= 4, put.stderr);

    const get = await dht(['get', target, ...onTestNet()]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, `${text}\n`);
    assert.equal(get.stderr, '');
  });

  it('prints a value that is not a byte string as JSON, bytes that are not UTF-8 in hex', async () => {
    const value = encode({ n: 42, list: ['a', new Uint8Array([0xff, 0x00])] });
    await nodes[4]!.putImmutable(value);
    const get = await dht(['get', idHex(immutableTarget(value)), ...onTestNet()]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, '{"list":["a","hex:ff00"],"n":42}\n');
  });

  it('joins through the nodes `peerkit dht` saved, and leaves the saved state alone', async () => {
    const statePath = join(dir, 'saved', 'peerkit', 'dht.dat');
    await writeDhtState(statePath, { id: randomId(seededRandom(3)), nodes: nodes.slice(0, 4).map((n) => ({ id: n.id, ...n.local })) });
    const before = await readFile(statePath);
    // The only bootstrap node never answers: the saved nodes are the way in.
    const put = await dht(['put', 'through saved nodes', '--host', '127.0.0.1', '--bootstrap', `127.0.0.1:${silent.local.port}`, '--timeout', '20'], 'saved');
    assert.equal(put.code, 0, put.stderr);
    assert.deepEqual(await readFile(statePath), before);
  });

  it('get of a target nobody has fails with one line (exit 1)', async () => {
    const r = await dht(['get', idHex(randomId(seededRandom(5))), ...onTestNet()]);
    assert.equal(r.code, 1);
    assert.ok(isCleanFailure(r), r.stderr);
    assert.match(r.stderr, /not found/);
  });

  it('keygen, then mutable puts and gets with a salt: the newest seq wins', async () => {
    const keyFile = join(dir, 'dht.key');
    const keygen = await dht(['keygen', keyFile]);
    assert.equal(keygen.code, 0, keygen.stderr);
    const keys = parseKeyFile(await readFile(keyFile, 'utf8'));
    const publicKey = Buffer.from(keys.publicKey).toString('hex');
    assert.equal(keygen.stdout, `${publicKey}\n`);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);

    const again = await dht(['keygen', keyFile]);
    assert.equal(again.code, 1);
    assert.ok(isCleanFailure(again), again.stderr);
    assert.match(again.stderr, /already exists/);
    assert.deepEqual(parseKeyFile(await readFile(keyFile, 'utf8')).publicKey, keys.publicKey, 'the key is left as it was');

    const target = idHex(mutableTarget(keys.publicKey, new TextEncoder().encode('profile')));
    const first = await dht(['put', '--key', keyFile, '--salt', 'profile', 'v1', ...onTestNet()]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `${target}\n`);
    assert.match(first.stderr, new RegExp(`^public key ${publicKey}\nseq 1, stored on \\d+ of \\d+ nodes\n$`));
    const second = await dht(['put', '--key', keyFile, '--salt', 'profile', 'v2', ...onTestNet()]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /seq 2, stored/);

    for (const key of [keyFile, publicKey]) {
      const get = await dht(['get', '--key', key, '--salt', 'profile', ...onTestNet()]);
      assert.equal(get.code, 0, get.stderr);
      assert.equal(get.stdout, 'v2\n');
      assert.equal(get.stderr, 'seq 2\n');
    }

    const unsalted = await dht(['get', '--key', publicKey, ...onTestNet()]);
    assert.equal(unsalted.code, 1);
    assert.ok(isCleanFailure(unsalted), unsalted.stderr);

    const explicit = await dht(['put', '--key', keyFile, '--salt', 'profile', '--seq', '7', 'v7', ...onTestNet()]);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.match(explicit.stderr, /seq 7, stored/);
    const latest = await dht(['get', '--key', keyFile, '--salt', 'profile', ...onTestNet()]);
    assert.equal(latest.stdout, 'v7\n');
    assert.equal(latest.stderr, 'seq 7\n');
  });
});

describe('peerkit dht peers', () => {
  it('finds the peer a node announced, one host:port per line', async () => {
    const infoHash = randomId(seededRandom(11));
    await nodes[2]!.announce(infoHash, 51413);
    const r = await dht(['peers', idHex(infoHash), ...onTestNet()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '127.0.0.1:51413\n');
    const magnet = await dht(['peers', `magnet:?xt=urn:btih:${idHex(infoHash)}`, ...onTestNet()]);
    assert.equal(magnet.stdout, '127.0.0.1:51413\n');
  });

  it('exits 1 when there are none', async () => {
    const r = await dht(['peers', idHex(randomId(seededRandom(12))), ...onTestNet()]);
    assert.equal(r.code, 1);
    assert.ok(isCleanFailure(r), r.stderr);
    assert.match(r.stderr, /no peers found/);
  });

  it('--announce stores our address for others to find', async () => {
    const infoHash = randomId(seededRandom(13));
    const r = await dht(['peers', idHex(infoHash), '--announce', '6999', ...onTestNet()]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^announced port 6999 to \d+ of \d+ nodes\n$/);
    const found = await nodes[9]!.getPeers(infoHash);
    assert.deepEqual(found.peers, [{ host: '127.0.0.1', port: 6999 }]);
  });
});

describe('peerkit dht: mistakes', () => {
  it('usage mistakes are one line, exit 2, pointing at the right help', async () => {
    const cases: [string[], RegExp][] = [
      [['get', 'not-hex'], /"not-hex" is not a target: expected 40 hex digits \(see `peerkit dht get --help`\)/],
      [['get', 'ab'.repeat(19)], /not a target/],
      [['get'], /missing the target/],
      [['get', '--salt', 's', 'ab'.repeat(20)], /--salt is for mutable items/],
      [['put'], /missing the value/],
      [['put', 'x'.repeat(1000)], /the limit is 1000/],
      [['put', '--seq', '3', 'x'], /give --key too/],
      [['peers', 'xyz'], /"xyz" is not an infohash: expected 40 hex digits/],
      [['peers', 'ab'.repeat(20), '--announce', '0'], /--announce/],
      [['put', 'x', '--timeout', '0'], /--timeout/],
      [['put', 'x', '--bootstrap', 'nowhere'], /--bootstrap "nowhere" is not host:port/],
      [['frobnicate'], /unknown dht command "frobnicate": .*\(see `peerkit dht --help`\)/],
      [['--port', '70000'], /--port/],
      [['put', 'x', '--host', '::1'], /must be an IPv4 address/],
    ];
    for (const [args, message] of cases) {
      // On the test network all the same, in case a mistake were not caught.
      const r = await dht([...args, '--bootstrap', `127.0.0.1:${silent.local.port}`]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(isCleanFailure(r), r.stderr);
      assert.match(r.stderr, message);
    }
  });

  it('a missing key file says how to make one (exit 1)', async () => {
    const missing = join(dir, 'no-such.key');
    const put = await dht(['put', '--key', missing, 'x', ...onTestNet()]);
    assert.equal(put.code, 1);
    assert.ok(isCleanFailure(put), put.stderr);
    assert.match(put.stderr, new RegExp(`no key file .*no-such\\.key: create one with \`peerkit dht keygen .*no-such\\.key\``));
    const get = await dht(['get', '--key', missing, ...onTestNet()]);
    assert.equal(get.code, 1);
    assert.ok(isCleanFailure(get), get.stderr);
    assert.match(get.stderr, /peerkit dht keygen/);
  });

  it('a key file that is not a key is named in the error', async () => {
    const bad = join(dir, 'bad.key');
    await writeFile(bad, 'not a key\n');
    const r = await dht(['put', '--key', bad, 'x', ...onTestNet()]);
    assert.equal(r.code, 1);
    assert.ok(isCleanFailure(r), r.stderr);
    assert.match(r.stderr, /bad\.key: not a key file/);
  });

  it('a bootstrap node that does not answer is a one-line failure, within --timeout', async () => {
    const r = await dht(['get', 'ab'.repeat(20), '--host', '127.0.0.1', '--bootstrap', `127.0.0.1:${silent.local.port}`]);
    assert.equal(r.code, 1);
    assert.ok(isCleanFailure(r), r.stderr);
    assert.match(r.stderr, /cannot join the DHT: no answer from 127\.0\.0\.1:\d+/);
    const slow = await dht(['get', 'ab'.repeat(20), '--host', '127.0.0.1', '--bootstrap', `127.0.0.1:${silent.local.port}`, '--timeout', '0.5']);
    assert.equal(slow.code, 1);
    assert.ok(isCleanFailure(slow), slow.stderr);
    assert.match(slow.stderr, /timed out after 0\.5 s/);
  });
});

/** `peerkit dht` as a child process, once it printed its id line. */
async function startNode(args: string[], name: string): Promise<{ id: string; port: number; stderr: () => string; stop: (signal?: NodeJS.Signals) => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'dht', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PEERKIT_DEBUG: undefined, ...env(name) } });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`dht node did not start: ${out} ${err}`));
    }, 15_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /^dht node ([0-9a-f]{40}) on 127\.0\.0\.1:(\d+)$/m.exec(out);
      if (m === null) return;
      clearTimeout(timer);
      resolve({
        id: m[1]!,
        port: Number(m[2]),
        stderr: () => err,
        stop: (signal = 'SIGINT') => {
          child.kill(signal);
          return exited;
        },
      });
    });
    void exited.then((code) => reject(new Error(`dht node exited with ${code}: ${out} ${err}`)));
  });
}

// Last: unlike the read-only one-shot commands, a node stays in the test nodes' tables after it stops.
describe('peerkit dht (a node)', () => {
  it('joins, answers, saves its state on Ctrl-C (exit 130) and comes back with the same id', async () => {
    const statePath = join(dir, 'node', 'peerkit', 'dht.dat');
    const first = await startNode(['--host', '127.0.0.1', '--port', '0', '--bootstrap', bootstrap], 'node');
    const pong = await nodes[5]!.ping({ host: '127.0.0.1', port: first.port });
    assert.equal(idHex(pong.id), first.id);
    assert.equal(await first.stop(), 130);
    assert.match(first.stderr(), /saved the node id and \d+ nodes to /);
    const saved = await readDhtState(statePath);
    assert.ok(saved !== undefined, 'the state file is written');
    assert.equal(idHex(saved.id), first.id);
    assert.ok(saved.nodes.length >= 5, `${saved.nodes.length} nodes saved`);

    // The second start needs no bootstrap node: the saved table is enough.
    const second = await startNode(['--host', '127.0.0.1', '--port', '0', '--bootstrap', `127.0.0.1:${silent.local.port}`], 'node');
    assert.equal(second.id, first.id);
    assert.match(second.stderr(), new RegExp(`loaded node id ${first.id} and \\d+ nodes from `));
    assert.doesNotMatch(second.stderr(), /could not join/);
    assert.equal(await second.stop('SIGTERM'), 143);
  });

  it('says so when nobody answers, and keeps running', async () => {
    const node = await startNode(['--host', '127.0.0.1', '--port', '0', '--bootstrap', `127.0.0.1:${silent.local.port}`], 'alone');
    assert.match(node.stderr(), /could not join the DHT: no answer from 127\.0\.0\.1:\d+\. Running alone/);
    // Others can still join through it.
    const socket = await bindUdp('127.0.0.1', 0);
    const other = new DhtNode({ socket, queryRate: Infinity, bootstrap: [{ host: '127.0.0.1', port: node.port }] });
    try {
      assert.equal(await other.bootstrap(), 1);
    } finally {
      other.close();
    }
    assert.equal(await node.stop(), 130);
  });
});
