import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SIM_HIGH_WATER, SimClock, SimNetwork, type StreamConnection } from '../../src/net/index.js';
import { connectPair, failure, near, pump, Sink } from './sim-helpers.js';

/*
 * Simulated streams against the model in src/net/sim/network.ts: transfer
 * times follow from the rates and latencies (MB = 10^6 bytes), a shared
 * uplink is shared fairly, a slow downlink holds a fast sender back, and
 * the StreamConnection contract holds (back-pressure, pause, end/destroy
 * and onClose, connection refused).
 */

const MiB = 1024 * 1024;

function setup(latencyMs = 10): { clock: SimClock; net: SimNetwork } {
  const clock = new SimClock();
  return { clock, net: new SimNetwork({ clock, latencyMs }) };
}

describe('simulated streams: bandwidth and latency', () => {
  it('10 MiB from a node with up = 1 MB/s takes 10.49 s (± 1%)', async () => {
    const { clock, net } = setup();
    const a = net.addNode('10.0.0.1', { up: 1_000_000 });
    const b = net.addNode('10.0.0.2');
    const { client, server } = await connectPair(clock, a.transport, b.transport, '10.0.0.2');
    const start = clock.now();
    const sink = new Sink(server, clock, 10 * MiB);
    pump(client, 10 * MiB);
    await clock.run({ until: () => sink.doneAt !== undefined });
    const seconds = (sink.doneAt! - start) / 1000;
    assert.ok(near(seconds, 10.49, 0.01), `took ${seconds} s`);
    assert.equal(sink.bytes, 10 * MiB);
    assert.equal(a.stats.bytesUp, 10 * MiB);
    assert.equal(b.stats.bytesDown, 10 * MiB);
  });

  it('two receivers sharing one uplink each get half', async () => {
    const { clock, net } = setup();
    const s = net.addNode('10.0.0.1', { up: 1_000_000 });
    const r1 = net.addNode('10.0.0.2');
    const r2 = net.addNode('10.0.0.3');
    const one = await connectPair(clock, r1.transport, s.transport, '10.0.0.1');
    const two = await connectPair(clock, r2.transport, s.transport, '10.0.0.1');
    const start = clock.now();
    const sink1 = new Sink(one.client, clock, 2 * MiB);
    const sink2 = new Sink(two.client, clock, 2 * MiB);
    pump(one.server, 2 * MiB);
    pump(two.server, 2 * MiB);
    await clock.run({ maxTime: start + 2000 });
    // After 2 s, 2 MB went out, about half to each.
    assert.ok(near(sink1.bytes, 1_000_000, 0.03) && near(sink2.bytes, 1_000_000, 0.03), `${sink1.bytes} and ${sink2.bytes}`);
    await clock.run({ until: () => sink1.doneAt !== undefined && sink2.doneAt !== undefined });
    // Both finish together, as one 4 MiB transfer would.
    for (const sink of [sink1, sink2]) assert.ok(near((sink.doneAt! - start) / 1000, (4 * MiB) / 1e6, 0.01), `${sink.doneAt! - start} ms`);
  });

  it('a receiver with down = 0.5 MB/s holds a faster sender back', async () => {
    const { clock, net } = setup();
    const fast = net.addNode('10.0.0.1', { up: 4_000_000 });
    const slow = net.addNode('10.0.0.2', { down: 500_000 });
    const { client, server } = await connectPair(clock, fast.transport, slow.transport, '10.0.0.2');
    const start = clock.now();
    const sink = new Sink(server, clock, 2 * MiB);
    let maxBuffered = 0;
    pump(client, 2 * MiB, 64 * 1024, undefined);
    clock.setTimer(1000, () => void (maxBuffered = client.bufferedAmount));
    await clock.run({ until: () => sink.doneAt !== undefined });
    assert.ok(near((sink.doneAt! - start) / 1000, (2 * MiB) / 500_000, 0.01), `${sink.doneAt! - start} ms`);
    assert.ok(maxBuffered > 0, 'the sender was held back: data waited in its buffer');
  });

  it('latency adds a one-way delay, per link when set', async () => {
    const { clock, net } = setup(25);
    const a = net.addNode('10.0.0.1');
    const b = net.addNode('10.0.0.2');
    net.addNode('10.0.0.3');
    net.setLatency('10.0.0.3', '10.0.0.1', 70);
    assert.equal(net.latency('10.0.0.1', '10.0.0.3'), 70);
    assert.equal(net.latency('10.0.0.2', '10.0.0.1'), 25);
    const t0 = clock.now();
    const { client, server } = await connectPair(clock, a.transport, b.transport, '10.0.0.2');
    assert.equal(clock.now() - t0, 50, 'connect takes one round trip');
    const arrived: number[] = [];
    server.onData(() => arrived.push(clock.now()));
    const sent = clock.now();
    client.write(new Uint8Array(100));
    await clock.run({ until: () => arrived.length > 0 });
    assert.deepEqual(arrived, [sent + 25]);
    net.setLatency('10.0.0.1', '10.0.0.2', 100);
    const later = clock.now();
    client.write(new Uint8Array(100));
    await clock.run({ until: () => arrived.length > 1 });
    assert.equal(arrived[1], later + 100);
  });
});

describe('simulated streams: the StreamConnection contract', () => {
  it('write returns false past the high-water mark, and onDrain fires when it falls below', async () => {
    const { clock, net } = setup();
    const a = net.addNode('10.0.0.1', { up: 100_000 });
    const b = net.addNode('10.0.0.2');
    const { client, server } = await connectPair(clock, a.transport, b.transport, '10.0.0.2');
    new Sink(server, clock, Infinity);
    const block = new Uint8Array(16 * 1024);
    let writes = 0;
    while (client.write(block)) writes++;
    assert.equal(writes, SIM_HIGH_WATER / block.length - 1, 'the write that reaches the mark returns false');
    assert.equal(client.bufferedAmount, SIM_HIGH_WATER);
    let drainedAt: number | undefined;
    let bufferedThen = -1;
    client.onDrain(() => {
      drainedAt ??= clock.now();
      bufferedThen = client.bufferedAmount;
    });
    const start = clock.now();
    await clock.run({ until: () => drainedAt !== undefined });
    assert.ok(bufferedThen < SIM_HIGH_WATER);
    // One 16 KiB packet through a 100 kB/s uplink.
    assert.ok(near(drainedAt! - start, 163.84, 0.001), `drained after ${drainedAt! - start} ms`);
  });

  it('highWater moves the mark: write says false sooner, and raising it above what is buffered drains at once', async () => {
    const { clock, net } = setup();
    const a = net.addNode('10.0.0.1', { up: 100_000 });
    const b = net.addNode('10.0.0.2');
    const { client, server } = await connectPair(clock, a.transport, b.transport, '10.0.0.2');
    new Sink(server, clock, Infinity);
    assert.equal(client.highWater, SIM_HIGH_WATER);
    client.highWater = 48 * 1024;
    const block = new Uint8Array(16 * 1024);
    let writes = 0;
    while (client.write(block)) writes++;
    assert.equal(writes, 2);
    assert.equal(client.bufferedAmount, 48 * 1024);
    let drains = 0;
    client.onDrain(() => drains++);
    const at = clock.now();
    client.highWater = 64 * 1024;
    await clock.run({ until: () => drains > 0 });
    assert.equal(clock.now(), at, 'in a later event of the same instant, not after a packet');
    assert.throws(() => (client.highWater = 0), RangeError);
  });

  it('pause holds data back, and a paused reader stops the writer', async () => {
    const { clock, net } = setup();
    const a = net.addNode('10.0.0.1');
    const b = net.addNode('10.0.0.2');
    const { client, server } = await connectPair(clock, a.transport, b.transport, '10.0.0.2');
    const sink = new Sink(server, clock, 8 * MiB);
    server.pause();
    pump(client, 8 * MiB);
    await clock.run({ maxTime: clock.now() + 1000 });
    assert.equal(sink.bytes, 0);
    assert.ok(client.bufferedAmount >= SIM_HIGH_WATER, 'the writer is blocked');
    server.resume();
    await clock.run({ until: () => sink.doneAt !== undefined });
    assert.equal(sink.bytes, 8 * MiB);
  });

  it('connect to an address nobody listens on rejects with ECONNREFUSED after one round trip', async () => {
    const { clock, net } = setup(15);
    const a = net.addNode('10.0.0.1');
    net.addNode('10.0.0.2');
    const refused = failure(a.transport.connect({ host: '10.0.0.2', port: 6881 }));
    await clock.run({ until: () => refused.error !== undefined });
    assert.equal(refused.error?.code, 'ECONNREFUSED');
    assert.equal(clock.now(), 30);
    // No node at that address: the same.
    const t0 = clock.now();
    const nobody = failure(a.transport.connect({ host: '10.0.0.99', port: 1 }));
    await clock.run({ until: () => nobody.error !== undefined });
    assert.equal(nobody.error?.code, 'ECONNREFUSED');
    assert.equal(clock.now() - t0, 30);
    // A connect that takes longer than its timeout.
    net.setLatency('10.0.0.1', '10.0.0.2', 2000);
    const t1 = clock.now();
    const slow = failure(a.transport.connect({ host: '10.0.0.2', port: 6881 }, { timeoutMs: 3000 }));
    await clock.run({ until: () => slow.error !== undefined });
    assert.equal(slow.error?.code, 'ETIMEDOUT');
    assert.equal(clock.now() - t1, 3000);
  });

  it('end: the data, then the peer closes, then the ender (one latency later)', async () => {
    const { clock, net } = setup();
    const a = net.addNode('10.0.0.1', { up: 1_000_000 });
    const b = net.addNode('10.0.0.2');
    const { client, server } = await connectPair(clock, a.transport, b.transport, '10.0.0.2');
    const log: string[] = [];
    let received = 0;
    server.onData((c) => void (received += c.length));
    server.onClose((e) => log.push(`server closed after ${received} bytes at ${clock.now()}${e ? ' with error' : ''}`));
    client.onClose((e) => log.push(`client closed at ${clock.now()}${e ? ' with error' : ''}`));
    const t0 = clock.now();
    client.write(new Uint8Array(100_000));
    client.end();
    assert.equal(client.write(new Uint8Array(1)), false, 'no writes after end');
    await clock.run({ until: () => log.length === 2 });
    const sent = t0 + 100 + 10; // 100 kB at 1 MB/s, then the latency
    assert.deepEqual(log, [`server closed after 100000 bytes at ${sent}`, `client closed at ${sent + 10}`]);
  });

  it('destroy: closes at once, the peer hears one latency later, queued data is dropped', async () => {
    const { clock, net } = setup();
    const a = net.addNode('10.0.0.1', { up: 1_000_000 });
    const b = net.addNode('10.0.0.2');
    const { client, server } = await connectPair(clock, a.transport, b.transport, '10.0.0.2');
    const log: string[] = [];
    let received = 0;
    server.onData((c) => void (received += c.length));
    server.onClose(() => log.push(`server closed at ${clock.now()}`));
    client.onClose(() => log.push(`client closed at ${clock.now()}`));
    const t0 = clock.now();
    client.write(new Uint8Array(1_000_000));
    clock.setTimer(100, () => client.destroy());
    await clock.run({ until: () => log.length === 2 });
    assert.deepEqual(log, [`client closed at ${t0 + 100}`, `server closed at ${t0 + 110}`]);
    assert.ok(received < 200_000, `only what crossed the uplink before the destroy arrived (${received})`);
    assert.equal(client.write(new Uint8Array(1)), false);
    assert.equal(client.bufferedAmount, 0);
    // A handler set after the close still hears of it, once.
    let late = 0;
    server.onClose(() => late++);
    await clock.run({ maxTime: clock.now() + 100 });
    assert.equal(late, 1);
  });

  it('listen: port 0 picks a free port, a taken one is EADDRINUSE, a closed listener refuses', async () => {
    const { clock, net } = setup();
    const a = net.addNode('10.0.0.1');
    const b = net.addNode('10.0.0.2');
    const accepted: StreamConnection[] = [];
    const l1 = await b.transport.listen('0.0.0.0', 0, (c) => accepted.push(c));
    const l2 = await b.transport.listen('10.0.0.2', 0, (c) => accepted.push(c));
    assert.notEqual(l1.local.port, l2.local.port);
    assert.equal(l1.local.host, '10.0.0.2');
    await assert.rejects(b.transport.listen('10.0.0.2', l1.local.port, () => undefined), { code: 'EADDRINUSE' });
    let conn: StreamConnection | undefined;
    void a.transport.connect(l1.local).then((c) => (conn = c));
    await clock.run({ until: () => conn !== undefined });
    assert.equal(accepted.length, 1);
    assert.deepEqual(accepted[0]!.remote, conn!.local);
    assert.deepEqual(conn!.remote, l1.local);
    l1.close();
    const refused = failure(a.transport.connect(l1.local));
    await clock.run({ until: () => refused.error !== undefined });
    assert.equal(refused.error?.code, 'ECONNREFUSED');
  });
});
