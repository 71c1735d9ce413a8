import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { decode, type BDict } from '../../src/bencode/index.js';
import { batchUdpStatus } from '../../src/net/index.js';
import { decodeResponse, encodeRequest, type UdpResponse } from '../../src/tracker/udp-codec.js';
import { BIN, isCleanFailure, peerkit } from './run.js';

/** Start `peerkit tracker` and wait for the lines that give its URLs. */
function startTracker(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ http: string; udp: string; stderr: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, 'tracker', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tracker did not start: ${out}`)), 10_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const http = /announce +(http:\S+)/.exec(out)?.[1];
      const udp = /announce +(udp:\S+)/.exec(out)?.[1];
      if (http !== undefined && udp !== undefined) {
        clearTimeout(timer);
        resolve({
          http,
          udp,
          stderr: () => err,
          stop: () =>
            new Promise((done) => {
              child.on('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`tracker exited with ${code}: ${out}`)));
  });
}

const hash = '%01%02%03%04%05%06%07%08%09%0a%0b%0c%0d%0e%0f%10%11%12%13%14';

/** A BEP 15 connect to `url`: the reply's action and transaction id. */
async function udpConnect(url: string): Promise<UdpResponse> {
  const { hostname, port } = new URL(url);
  const s = createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('no reply to a UDP connect')), 5000); // safety net only
      s.on('message', (m: Buffer) => {
        clearTimeout(guard);
        resolve(decodeResponse(new Uint8Array(m)));
      });
      s.send(encodeRequest({ action: 'connect', transactionId: 0x1234 }), Number(port), hostname);
    });
  } finally {
    s.close();
  }
}

describe('peerkit tracker', () => {
  it('serves announces, scrapes and stats until stopped', async () => {
    const t = await startTracker(['--http-port', '0', '--udp-port', '0', '--interval', '60']);
    try {
      const announce = async (peer: string, port: number, left: number): Promise<BDict> => {
        const r = await fetch(`${t.http}?info_hash=${hash}&peer_id=${peer}&port=${port}&left=${left}&compact=1&event=started`);
        return decode(new Uint8Array(await r.arrayBuffer())) as BDict;
      };
      await announce('-PK0001-aaaaaaaaaaaa', 7001, 0);
      const reply = await announce('-PK0001-bbbbbbbbbbbb', 7002, 100);
      assert.equal(reply.get('interval'), 60);
      assert.equal(reply.get('complete'), 1);
      assert.equal(reply.get('incomplete'), 1);
      // The newcomer gets the seeder (127.0.0.1:7001), not itself.
      assert.deepEqual([...(reply.get('peers') as Uint8Array)], [127, 0, 0, 1, 7001 >> 8, 7001 & 255]);

      const scrape = decode(new Uint8Array(await (await fetch(`${t.http.replace(/announce$/, 'scrape')}?info_hash=${hash}`)).arrayBuffer())) as BDict;
      const files = scrape.get('files') as BDict;
      const counts = files.get(Buffer.from(decodeURIComponent(hash), 'latin1').toString('latin1'));
      assert.ok(counts instanceof Map);
      assert.equal(counts.get('complete'), 1);
      assert.equal(counts.get('incomplete'), 1);

      const stats = (await (await fetch(t.http.replace(/announce$/, 'stats'))).json()) as { torrents: number; peers: number };
      assert.equal(stats.torrents, 1);
      assert.equal(stats.peers, 2);
      const page = await (await fetch(t.http.replace(/announce$/, ''))).text();
      assert.match(page, /peerkit tracker/);

      const bad = decode(new Uint8Array(await (await fetch(`${t.http}?info_hash=short&peer_id=x&port=1`)).arrayBuffer())) as BDict;
      assert.ok(bad.get('failure reason') instanceof Uint8Array);
    } finally {
      assert.equal(await t.stop(), 0);
    }
  });

  it('says once on stderr which UDP path it runs, and answers UDP on it', async () => {
    const native = batchUdpStatus();
    for (const [env, expected] of [
      [process.env, native.available ? /UDP on the native batch socket/ : /UDP on node:dgram/],
      [{ ...process.env, PEERKIT_UDP: 'dgram' }, /UDP on node:dgram \((PEERKIT_UDP=dgram|.*Linux only.*)\)/],
    ] as const) {
      const t = await startTracker(['--http-port', '0', '--udp-port', '0'], env);
      try {
        const r = await udpConnect(t.udp);
        assert.deepEqual([r.action, r.transactionId], ['connect', 0x1234]);
        const lines = t.stderr().split('\n').filter((l) => l !== '');
        assert.equal(lines.length, 1, t.stderr());
        assert.match(lines[0]!, expected);
      } finally {
        assert.equal(await t.stop(), 0);
      }
    }
  });

  it('reports bad options in one line', async () => {
    for (const args of [['tracker', '--interval', '0'], ['tracker', '--http-port', '70000'], ['tracker', 'extra'], ['tracker', '--http-port', 'off', '--udp-port', 'off']]) {
      const r = await peerkit(args);
      assert.ok(isCleanFailure(r), `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.code, 2, args.join(' '));
    }
    const missing = await peerkit(['tracker', '--allow-list', '/nonexistent/list.txt', '--http-port', '0', '--udp-port', '0']);
    assert.ok(isCleanFailure(missing), missing.stderr);
  });
});
