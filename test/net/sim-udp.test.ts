import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimClock, SimNetwork, type Endpoint } from '../../src/net/index.js';

/*
 * Simulated UDP: datagrams arrive one latency (plus their turn on the links)
 * later, from the sender's address, in order; loss is drawn from the
 * network's seed, so the same seed loses the same datagrams.
 */

/** Send `count` numbered datagrams from 10.0.0.1 to 10.0.0.2 and return which arrived, and when. */
async function exchange(options: { seed?: number; loss?: number; up?: number }, count: number): Promise<{ got: number[]; at: number[]; from: Endpoint[] }> {
  const clock = new SimClock();
  const net = new SimNetwork({ clock, ...(options.seed !== undefined && { seed: options.seed }), ...(options.loss !== undefined && { loss: options.loss }) });
  const a = net.addNode('10.0.0.1', { up: options.up });
  const b = net.addNode('10.0.0.2');
  const sa = await a.bindUdp();
  const sb = await b.bindUdp(6881);
  const got: number[] = [];
  const at: number[] = [];
  const from: Endpoint[] = [];
  sb.onMessage((data, f) => {
    got.push(new DataView(data.buffer, data.byteOffset).getUint32(0));
    at.push(clock.now());
    from.push(f);
  });
  const buf = new Uint8Array(100);
  for (let i = 0; i < count; i++) {
    new DataView(buf.buffer).setUint32(0, i);
    sa.send(buf, { host: '10.0.0.2', port: 6881 }); // reused at once: send must have copied it
  }
  await clock.run();
  return { got, at, from };
}

describe('simulated UDP', () => {
  it('delivers after the latency, in order, from the sender address', async () => {
    const { got, at, from } = await exchange({}, 5);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.deepEqual(at, [10, 10, 10, 10, 10]);
    assert.equal(from[0]!.host, '10.0.0.1');
    assert.ok(from[0]!.port > 0);
  });

  it('takes its turn on a limited uplink', async () => {
    const { got, at } = await exchange({ up: 10_000 }, 3);
    assert.deepEqual(got, [0, 1, 2]);
    assert.deepEqual(at, [20, 30, 40]); // 100 bytes at 10 kB/s each, then 10 ms
  });

  it('loses datagrams with the loss probability, the same ones for the same seed', async () => {
    const one = await exchange({ seed: 42, loss: 0.3 }, 2000);
    const again = await exchange({ seed: 42, loss: 0.3 }, 2000);
    const other = await exchange({ seed: 43, loss: 0.3 }, 2000);
    assert.deepEqual(one.got, again.got);
    assert.notDeepEqual(one.got, other.got);
    const lost = 2000 - one.got.length;
    assert.ok(lost > 520 && lost < 680, `lost ${lost} of 2000`);
    assert.deepEqual(one.got, [...one.got].sort((x, y) => x - y), 'never reordered');
  });

  it('drops datagrams for ports nobody bound; a bound port is EADDRINUSE', async () => {
    const clock = new SimClock();
    const net = new SimNetwork({ clock });
    const a = net.addNode('10.0.0.1');
    const b = net.addNode('10.0.0.2');
    const sa = await a.bindUdp();
    const sb = await b.bindUdp(7000);
    await assert.rejects(b.bindUdp(7000), { code: 'EADDRINUSE' });
    let n = 0;
    sb.onMessage(() => n++);
    sa.send(new Uint8Array(10), { host: '10.0.0.2', port: 7001 });
    sa.send(new Uint8Array(10), { host: '10.0.0.3', port: 7000 });
    sa.send(new Uint8Array(10), { host: '10.0.0.2', port: 7000 });
    await clock.run();
    assert.equal(n, 1);
    sb.close();
    sa.send(new Uint8Array(10), { host: '10.0.0.2', port: 7000 });
    await clock.run();
    assert.equal(n, 1);
    assert.equal(a.stats.bytesUp, 40);
    assert.equal(b.stats.bytesDown, 30);
  });
});
