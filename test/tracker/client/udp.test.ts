import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock, seededRandom, type Endpoint } from '../../../src/net/index.js';
import { UdpTrackerSocket, type UdpTrackerInit } from '../../../src/tracker/client/index.js';
import { TrackerError } from '../../../src/tracker/errors.js';
import { encodeResponse, type AnnounceRequest, type AnnounceResponse } from '../../../src/tracker/udp-codec.js';
import { FakeNet, FakeUdpTracker, id20, runFor, tick } from './fakes.js';

const TRACKER: Endpoint = { host: '10.0.0.1', port: 6969 };
const params = { infoHash: id20(1), peerId: id20(2), port: 6881, uploaded: 10, downloaded: 20, left: 30, event: 'started' as const, key: 77, numWant: 50 };
const isCode = (code: string) => (e: unknown) => e instanceof TrackerError && e.code === code;

function setup(init: UdpTrackerInit = {}, trackerAt: Endpoint = TRACKER) {
  const clock = new ManualClock();
  const net = new FakeNet();
  const tracker = new FakeUdpTracker(net, trackerAt, clock);
  const udp = new UdpTrackerSocket({ socket: net.socket({ host: '10.0.0.2', port: 5000 }), clock, random: seededRandom(1) }, init);
  return { clock, net, tracker, udp };
}

/** Settle a promise into a value the test can inspect later, noting the clock time it settled at. */
function watch<T>(p: Promise<T>, clock: ManualClock) {
  const out: { value?: T; error?: unknown; at?: number } = {};
  p.then(
    (value) => Object.assign(out, { value, at: clock.now() }),
    (error: unknown) => Object.assign(out, { error, at: clock.now() }),
  );
  return out;
}

test('connect then announce: the BEP 15 fields go out, peers and counts come back', async () => {
  const { tracker, udp } = setup();
  const r = await udp.announce(TRACKER, params);
  assert.deepEqual(r, { interval: 1800, complete: 1, incomplete: 2, peers: [{ host: '10.0.0.9', port: 6881 }] });
  assert.deepEqual(tracker.log(), ['connect@0', 'announce@0']);
  const a = tracker.received[1]!.request as AnnounceRequest;
  assert.equal(a.connectionId, 0x1000n);
  assert.deepEqual([a.downloaded, a.left, a.uploaded, a.event, a.key, a.numWant, a.port, a.ip], [20n, 30n, 10n, 'started', 77, 50, 6881, 0]);
  assert.deepEqual(a.infoHash, id20(1));
});

test('retransmits on the 15·2^n s schedule up to n = 8, then times out (timed on the ManualClock)', async () => {
  const { clock, tracker, udp } = setup();
  tracker.answer = () => undefined; // a dead tracker
  const result = watch(udp.announce(TRACKER, params), clock);
  await runFor(clock, 7_700_000, 5000);
  // Sent at 0, 15, 45, 105, 225, 465, 945, 1905, 3825 s; the last wait (3840 s) ends at 7665 s.
  const expected = [0, 15, 45, 105, 225, 465, 945, 1905, 3825].map((s) => `connect@${s * 1000}`);
  assert.deepEqual(tracker.log(), expected);
  assert.ok(isCode('timeout')(result.error));
  assert.equal(result.at, 7_665_000);
});

test('the caller can cap n: maxN 2 gives up after 15 + 30 + 60 s', async () => {
  const { clock, tracker, udp } = setup({ maxN: 2 });
  tracker.answer = () => undefined;
  const result = watch(udp.announce(TRACKER, params), clock);
  await runFor(clock, 104_000);
  assert.equal(result.error === undefined, true);
  await runFor(clock, 1_000);
  assert.ok(isCode('timeout')(result.error));
  assert.equal(result.at, 105_000);
  assert.deepEqual(tracker.log(), ['connect@0', 'connect@15000', 'connect@45000']);
});

test('n counts across connect and announce, and a retransmit after the id expired reconnects first', async () => {
  const { clock, tracker, udp } = setup();
  let connects = 0;
  tracker.answer = (r) => (r.action === 'connect' && ++connects <= 2 ? tracker.normal(r) : undefined);
  const result = watch(udp.announce(TRACKER, params), clock);
  await runFor(clock, 500_000);
  assert.deepEqual(tracker.log().slice(0, 8), [
    'connect@0',
    'announce@0', // n = 0
    'announce@15000', // n = 1
    'announce@45000', // n = 2
    'connect@105000', // n = 3: the id from 0 s is stale, connect again (answered) ...
    'announce@105000', // ... and announce at once, still n = 3
    'connect@225000', // n = 4: the id from 105 s is stale too; this connect goes unanswered
    'connect@465000', // n = 5
  ]);
  assert.equal((tracker.received[5]!.request as AnnounceRequest).connectionId, 0x1001n);
  assert.equal(result.error, undefined);
});

test('the connection id is reused for a minute, then fetched again', async () => {
  const { clock, tracker, udp } = setup();
  await udp.announce(TRACKER, params);
  await runFor(clock, 59_000);
  await udp.announce(TRACKER, params);
  await udp.scrape(TRACKER, [id20(3)]);
  await runFor(clock, 1_000);
  await udp.announce(TRACKER, params);
  assert.deepEqual(tracker.log(), ['connect@0', 'announce@0', 'announce@59000', 'scrape@59000', 'connect@60000', 'announce@60000']);
  const ids = tracker.received.filter((r) => r.request.action !== 'connect').map((r) => (r.request as { connectionId: bigint }).connectionId);
  assert.deepEqual(ids, [0x1000n, 0x1000n, 0x1000n, 0x1001n]);
});

test('replies with an unknown transaction id or from another address are ignored', async () => {
  const { clock, net, tracker, udp } = setup();
  const stranger = net.socket({ host: '10.0.0.66', port: 6969 });
  tracker.answer = (r, from) => {
    const good = tracker.normal(r);
    // First a wrong transaction id, then the right one from a different host: both must be dropped.
    tracker.socket.send(encodeResponse({ ...good, transactionId: (r.transactionId + 1) >>> 0 }), from);
    stranger.send(encodeResponse(good), from);
    return r.action === 'connect' ? good : undefined;
  };
  const result = watch(udp.announce(TRACKER, params), clock);
  await tick();
  assert.equal(result.value === undefined, true);
  tracker.answer = (r) => tracker.normal(r);
  await runFor(clock, 15_000);
  assert.equal(result.value?.interval, 1800);
  assert.deepEqual(tracker.log(), ['connect@0', 'announce@0', 'announce@15000']);
});

test('one socket serves concurrent requests; replies are matched by transaction id, not order', async () => {
  const { tracker, udp } = setup();
  const held: (() => void)[] = [];
  tracker.answer = (r, from) => {
    if (r.action !== 'announce') return tracker.normal(r);
    // Hold announces and answer them in reverse order, each with its own interval.
    held.push(() => tracker.socket.send(encodeResponse({ ...(tracker.normal(r) as AnnounceResponse), interval: r.infoHash[0]! * 100 }), from));
    return undefined;
  };
  const a = udp.announce(TRACKER, { ...params, infoHash: id20(1) });
  const b = udp.announce(TRACKER, { ...params, infoHash: id20(2) });
  const c = udp.announce({ host: '10.0.0.3', port: 1 }, params); // another tracker on the same socket (no one there)
  while (held.length < 2) await tick();
  held.reverse().forEach((send) => send());
  assert.deepEqual([(await a).interval, (await b).interval], [100, 200]);
  void c.catch(() => undefined);
  udp.close();
  await assert.rejects(c, isCode('network'));
});

test('an error packet is a failure with the tracker text', async () => {
  const { tracker, udp } = setup();
  tracker.answer = (r) => (r.action === 'connect' ? tracker.normal(r) : { action: 'error', transactionId: r.transactionId, message: 'info hash not allowed' });
  await assert.rejects(udp.announce(TRACKER, params), (e: unknown) => isCode('failure')(e) && (e as Error).message === 'info hash not allowed');
  // The error may mean the tracker forgot us: the next request connects again.
  tracker.answer = (r) => tracker.normal(r);
  await udp.announce(TRACKER, params);
  assert.deepEqual(tracker.log(), ['connect@0', 'announce@0', 'connect@0', 'announce@0']);
});

test('a reply with our transaction id but the wrong action or a short body is malformed', async () => {
  const { tracker, udp } = setup();
  tracker.answer = (r) => (r.action === 'connect' ? { action: 'scrape', transactionId: r.transactionId, files: [] } : undefined);
  await assert.rejects(udp.announce(TRACKER, params), isCode('malformed'));
  const other = setup();
  other.tracker.answer = (r) => {
    if (r.action === 'connect') return other.tracker.normal(r);
    // <action=1:4><transaction_id:4> and 4 more bytes: an announce response needs at least 20.
    const short = new Uint8Array(12);
    new DataView(short.buffer).setUint32(0, 1);
    new DataView(short.buffer).setUint32(4, r.transactionId);
    return short;
  };
  await assert.rejects(other.udp.announce(TRACKER, params), isCode('malformed'));
});

test('scrape: counts in request order, more than 74 hashes split over packets', async () => {
  const { tracker, udp } = setup();
  const hashes = Array.from({ length: 80 }, (_, i) => Uint8Array.from({ length: 20 }, (_, j) => (i + j) & 255));
  const r = await udp.scrape(TRACKER, hashes);
  assert.equal(r.length, 80);
  r.forEach((f, i) => assert.deepEqual(f, { infoHash: hashes[i], complete: i, downloaded: i + 1, incomplete: i + 2 }));
  assert.deepEqual(tracker.log(), ['connect@0', 'scrape@0', 'scrape@0']);
});

test('a tracker reached over IPv6 sends 18-byte peers (BEP 15)', async () => {
  const v6: Endpoint = { host: '2001:db8::1', port: 6969 };
  const { tracker, udp } = setup({}, v6);
  const peer = new Uint8Array(18);
  peer[15] = 1;
  peer[17] = 80;
  tracker.answer = (r) => (r.action === 'announce' ? { ...tracker.normal(r), peers: peer } : tracker.normal(r));
  assert.deepEqual((await udp.announce(v6, params)).peers, [{ host: '0:0:0:0:0:0:0:1', port: 80 }]);
});

test('abort rejects at once and leaves nothing pending', async () => {
  const { clock, tracker, udp } = setup();
  tracker.answer = () => undefined;
  const controller = new AbortController();
  const result = watch(udp.announce(TRACKER, params, { signal: controller.signal }), clock);
  await runFor(clock, 20_000);
  controller.abort();
  await tick();
  assert.ok(isCode('network')(result.error));
  await runFor(clock, 100_000);
  assert.equal(tracker.received.length, 2);
  await assert.rejects(udp.announce(TRACKER, params, { signal: controller.signal }), isCode('network'));
});

test('udp:// URLs: host and port required; [v6] literals unwrapped', () => {
  const { udp } = setup();
  assert.deepEqual(udp.client('udp://tracker.example:1337/announce').endpoint, { host: 'tracker.example', port: 1337 });
  assert.deepEqual(udp.client('udp://[::1]:6969').endpoint, { host: '::1', port: 6969 });
  assert.throws(() => udp.client('udp://tracker.example/announce'), isCode('bad-param'));
  assert.throws(() => udp.client('http://tracker.example:80/announce'), isCode('bad-param'));
});
