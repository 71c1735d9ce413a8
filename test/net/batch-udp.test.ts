import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { describe, it, type TestContext } from 'node:test';
import { Worker } from 'node:worker_threads';
import { batchUdpStatus, bindBatchUdp, Info, INFO_WORDS, type BatchUdpSocket, type DatagramBatch } from '../../src/net/index.js';

/*
 * The native batched UDP socket (native/batch_udp.c), over real sockets on
 * 127.0.0.1 only: datagrams in, replies out to the right senders, cut
 * datagrams, replies JavaScript got wrong, closing at awkward moments, and
 * an environment torn down with the socket open. Nothing here asserts on
 * time; the timers are safety nets that turn a hang into a failure.
 *
 * Without the addon (not Linux, or not built) every test skips with a note,
 * except in CI on Linux, where the build is expected to work (.ci/run
 * installs the compiler) and a missing addon fails.
 */

const MODULE = new URL('../../src/net/index.js', import.meta.url).href;

function available(t: TestContext): boolean {
  const status = batchUdpStatus();
  if (status.available) return true;
  if (process.env.CI === 'true' && process.platform === 'linux') throw new Error(`native batch UDP socket missing in CI: ${status.reason}`);
  process.stderr.write(`SKIPPED native batch UDP socket tests (${status.reason})\n`);
  t.skip(status.reason);
  return false;
}

/** An echo server: each reply is 'R' then the datagram; `onCount` sees each batch's size. */
function echo(options: { batch?: number; maxDatagram?: number } = {}, onCount: (count: number, batch: DatagramBatch) => void = () => undefined): BatchUdpSocket {
  // A receive buffer for every datagram a test sends at once (each small one costs the kernel ~1 KiB).
  return bindBatchUdp('127.0.0.1', 0, { receiveBuffer: 1 << 20, ...options }, (b, count) => {
    onCount(count, b);
    for (let i = 0; i < count; i++) {
      const length = Math.min(b.info[i * INFO_WORDS + Info.length]!, b.rxSlot, b.txSlot - 1);
      b.tx[i * b.txSlot] = 0x52;
      b.tx.set(b.rx.subarray(i * b.rxSlot, i * b.rxSlot + length), i * b.txSlot + 1);
      b.replyLength[i] = length + 1;
    }
  });
}

async function client(): Promise<Socket> {
  const s = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  return s;
}

/** Wait until `done()` holds, checking after every message on `sockets` and every few ms; fails after `ms` (a safety net). */
function until(sockets: readonly Socket[], done: () => boolean, what: string, ms = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (!done()) return;
      clearTimeout(timer);
      clearInterval(poll);
      for (const s of sockets) s.off('message', check);
      resolve();
    };
    const timer = setTimeout(() => {
      clearInterval(poll);
      reject(new Error(`gave up waiting for ${what}`));
    }, ms);
    const poll = setInterval(check, 2);
    for (const s of sockets) s.on('message', check);
    check();
  });
}

describe('native batch UDP socket', () => {
  it('answers many datagrams from many senders, each reply to its own sender, several per call', async (t) => {
    if (!available(t)) return;
    let largest = 0;
    const server = echo({ batch: 32 }, (count) => (largest = Math.max(largest, count)));
    const clients = await Promise.all(Array.from({ length: 8 }, client));
    try {
      const got = clients.map(() => [] as string[]);
      clients.forEach((c, k) => c.on('message', (m: Buffer) => got[k]!.push(m.toString('latin1'))));
      const rounds = 5;
      const perRound = 40;
      for (let r = 0; r < rounds; r++) {
        clients.forEach((c, k) => {
          for (let i = 0; i < perRound; i++) c.send(`${k}:${r * perRound + i}`, server.local.port, '127.0.0.1');
        });
        await until(clients, () => got.every((g) => g.length === (r + 1) * perRound), `round ${r}`);
      }
      got.forEach((g, k) => assert.deepEqual([...g].sort(), Array.from({ length: rounds * perRound }, (_, i) => `R${k}:${i}`).sort(), `client ${k}`));
      const stats = server.stats();
      assert.equal(stats.received, 8 * rounds * perRound);
      assert.equal(stats.sent, stats.received);
      assert.deepEqual([stats.sendErrors, stats.badReplies, stats.truncated, stats.receiveErrors], [0, 0, 0, 0]);
      assert.ok(largest > 1 && largest <= 32, `largest batch ${largest}`);
      assert.ok(stats.batches < stats.received, `${stats.batches} calls for ${stats.received} datagrams`);
    } finally {
      for (const c of clients) c.close();
      await server.close();
    }
  });

  it('describes each sender: length, port, family 4 with the address as a number', async (t) => {
    if (!available(t)) return;
    const seen: { length: number; port: number; family: number; ipv4: number }[] = [];
    const server = echo({}, (count, b) => {
      for (let i = 0; i < count; i++) {
        const w = i * INFO_WORDS;
        seen.push({ length: b.info[w + Info.length]!, port: b.info[w + Info.port]!, family: b.info[w + Info.family]!, ipv4: b.info[w + Info.ipv4]! });
      }
    });
    const c = await client();
    try {
      let replies = 0;
      c.on('message', () => replies++);
      c.send(new Uint8Array(0), server.local.port, '127.0.0.1');
      c.send(new Uint8Array(77), server.local.port, '127.0.0.1');
      await until([c], () => replies === 2, 'two replies');
      assert.deepEqual(seen.map((s) => s.length).sort((a, b) => a - b), [0, 77]);
      for (const s of seen) assert.deepEqual([s.port, s.family, s.ipv4], [c.address().port, 4, 0x7f000001]);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('an IPv6 socket: IPv4-mapped senders arrive as family 4 and are answered', async (t) => {
    if (!available(t)) return;
    // Bound to the mapped loopback address: an AF_INET6 socket that only hears 127.0.0.1.
    const server = bindBatchUdp('::ffff:127.0.0.1', 0, {}, (b, count) => {
      for (let i = 0; i < count; i++) {
        const w = i * INFO_WORDS;
        const mapped = b.infoBytes.subarray((w + Info.ipv6) * 4, (w + Info.ipv6) * 4 + 16);
        b.tx.set([b.info[w + Info.family]!, ...mapped.subarray(10, 16)], i * b.txSlot);
        b.replyLength[i] = 7;
      }
    });
    const c = await client();
    try {
      assert.equal(server.local.host, '::ffff:127.0.0.1');
      const replies: Buffer[] = [];
      c.on('message', (m: Buffer) => replies.push(m));
      c.send('hello', server.local.port, '127.0.0.1');
      await until([c], () => replies.length === 1, 'the reply');
      assert.deepEqual([...replies[0]!], [4, 0xff, 0xff, 127, 0, 0, 1]);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('a datagram over maxDatagram arrives cut, with its real length, and is counted', async (t) => {
    if (!available(t)) return;
    const lengths: number[] = [];
    const server = echo({ maxDatagram: 64 }, (count, b) => {
      for (let i = 0; i < count; i++) lengths.push(b.info[i * INFO_WORDS + Info.length]!);
    });
    const c = await client();
    try {
      const replies: Buffer[] = [];
      c.on('message', (m: Buffer) => replies.push(m));
      const big = Buffer.alloc(300, 0x61);
      big.fill(0x62, 64);
      c.send(big, server.local.port, '127.0.0.1');
      await until([c], () => replies.length === 1, 'the reply');
      assert.deepEqual(lengths, [300]);
      assert.equal(replies[0]!.length, 65, 'only the first 64 bytes were kept');
      assert.ok(replies[0]!.subarray(1).every((x) => x === 0x61));
      assert.equal(server.stats().truncated, 1);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('ignores and counts reply lengths outside 0..maxReply, and sends the rest of the batch', async (t) => {
    if (!available(t)) return;
    const server = bindBatchUdp('127.0.0.1', 0, { maxReply: 100, receiveBuffer: 1 << 20 }, (b, count) => {
      for (let i = 0; i < count; i++) {
        const n = b.rx[i * b.rxSlot]!;
        b.tx.fill(n, i * b.txSlot, i * b.txSlot + 100);
        // 0: no reply; 1: too long; 2: negative; others: a good 10-byte reply.
        b.replyLength[i] = n % 4 === 0 ? 0 : n % 4 === 1 ? 101 : n % 4 === 2 ? -5 : 10;
      }
    });
    const c = await client();
    try {
      const got: number[] = [];
      c.on('message', (m: Buffer) => got.push(m[0]!));
      for (let n = 0; n < 40; n++) c.send(new Uint8Array([n]), server.local.port, '127.0.0.1');
      await until([c], () => got.length === 10, 'the good replies');
      // The bad ones came before the last good one, so all were counted by now.
      assert.deepEqual(got.sort((a, b) => a - b), Array.from({ length: 10 }, (_, k) => k * 4 + 3));
      assert.equal(server.stats().badReplies, 20);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('close from inside the callback: that batch is its last, and the port is free again', async (t) => {
    if (!available(t)) return;
    let calls = 0;
    let closing: Promise<void> | undefined;
    const server: BatchUdpSocket = bindBatchUdp('127.0.0.1', 0, { batch: 4, receiveBuffer: 1 << 20 }, (b, count) => {
      calls++;
      for (let i = 0; i < count; i++) b.replyLength[i] = 1;
      closing = server.close();
    });
    const port = server.local.port;
    const c = await client();
    try {
      for (let i = 0; i < 50; i++) c.send('x', port, '127.0.0.1');
      await until([], () => closing !== undefined, 'the first batch');
      await closing;
      assert.equal(calls, 1);
      assert.equal(server.stats().sent, 0, 'replies written before close are not sent');
      await server.close(); // again: the same promise, nothing more happens
      await rebind(port);
    } finally {
      c.close();
    }
  });

  it('close while datagrams keep coming: no callback after close, the port is free again', async (t) => {
    if (!available(t)) return;
    let closed = false;
    let lateCalls = 0;
    let calls = 0;
    const server = echo({}, () => {
      calls++;
      if (closed) lateCalls++;
    });
    const port = server.local.port;
    const c = await client();
    let sending = true;
    const blast = (): void => {
      if (!sending) return;
      for (let i = 0; i < 20; i++) c.send('y', port, '127.0.0.1');
      setImmediate(blast);
    };
    try {
      blast();
      await until([c], () => calls >= 5, 'some batches');
      const done = server.close();
      closed = true;
      await done;
      await new Promise((r) => setTimeout(r, 20)); // a few more turns of the loop with datagrams still arriving
      assert.equal(lateCalls, 0);
    } finally {
      sending = false;
      c.close();
    }
    await rebind(port);
  });

  it('bind failures are system errors with a code, like node:dgram', async (t) => {
    if (!available(t)) return;
    const taken = await client();
    try {
      assert.throws(() => bindBatchUdp('127.0.0.1', taken.address().port, {}, () => undefined), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE' && e.syscall === 'bind');
    } finally {
      taken.close();
    }
    assert.throws(() => bindBatchUdp('not an address', 0, {}, () => undefined), (e: NodeJS.ErrnoException) => e.code === 'EINVAL');
    // A documentation address (RFC 5737) is on no interface here: nothing is sent, the bind alone fails.
    assert.throws(() => bindBatchUdp('192.0.2.1', 0, {}, () => undefined), (e: NodeJS.ErrnoException) => e.code === 'EADDRNOTAVAIL');
    assert.throws(() => bindBatchUdp('127.0.0.1', 0, { batch: 0 }, () => undefined), TypeError);
  });

  it('an exception in the callback goes to uncaughtException, and the socket serves the next batch', (t) => {
    if (!available(t)) return;
    // In a child process: node:test treats an uncaught exception in its own process as a failure.
    const script = `
      import { createSocket } from 'node:dgram';
      const { bindBatchUdp } = await import(${JSON.stringify(MODULE)});
      let thrown = 0;
      process.on('uncaughtException', (e) => { thrown++; if (e.message !== 'boom') throw e; });
      let first = true;
      const server = bindBatchUdp('127.0.0.1', 0, { batch: 1 }, (b, count) => {
        if (first) { first = false; b.replyLength[0] = 1; throw new Error('boom'); }
        b.tx[0] = 0x4f; b.replyLength[0] = 1;
      });
      const c = createSocket('udp4');
      const guard = setTimeout(() => { console.log('no reply'); process.exit(1); }, 10000);
      c.on('message', async (m) => { clearTimeout(guard); console.log(String(m), thrown, server.stats().sent); c.close(); await server.close(); });
      c.bind(0, '127.0.0.1', () => { c.send('a', server.local.port, '127.0.0.1'); c.send('b', server.local.port, '127.0.0.1'); });
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'O 1 1', 'the throwing batch sent nothing; the next one was answered');
  });

  it('a worker that exits with its socket open closes it (the port is free again)', async (t) => {
    if (!available(t)) return;
    const worker = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(MODULE)}).then(({ bindBatchUdp }) => {
         const s = bindBatchUdp('127.0.0.1', 0, {}, () => undefined);
         parentPort.postMessage(s.local.port);
         setTimeout(() => process.exit(0), 10);
       });`,
      { eval: true },
    );
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await new Promise((resolve) => worker.once('exit', resolve));
    await rebind(port);
  });
});

/** Bind a plain UDP socket to `port` (it must be free) and close it. */
async function rebind(port: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, '127.0.0.1', () => resolve());
  });
  await new Promise<void>((resolve) => s.close(() => resolve()));
}
