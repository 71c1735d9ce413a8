import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { encode } from '../../src/bencode/index.js';
import { DhtError } from '../../src/dht/errors.js';
import { randomId, type Contact } from '../../src/dht/node-id.js';
import { decodeDhtState, encodeDhtState, readDhtState, writeDhtState } from '../../src/dht/state.js';
import { seededRandom } from '../../src/net/index.js';

/* The saved node state: d2:id20:<id>5:nodes<26 bytes per node>e */

const isBadState = (e: unknown): boolean => e instanceof DhtError && e.code === 'bad-state';
const octet = fc.nat(255);
const contactArb: fc.Arbitrary<Contact> = fc
  .record({
    id: fc.uint8Array({ minLength: 20, maxLength: 20 }),
    host: fc.tuple(octet, octet, octet, octet).map((o) => o.join('.')),
    port: fc.integer({ min: 1, max: 0xffff }),
  })
  .map((c) => ({ ...c }));

describe('DHT state', () => {
  it('round-trips the id and the nodes (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 20, maxLength: 20 }), fc.array(contactArb, { maxLength: 50 }), (id, nodes) => {
        assert.deepEqual(decodeDhtState(encodeDhtState({ id, nodes })), { id, nodes });
      }),
      { numRuns: 300 },
    );
  });

  it('is the documented dictionary', () => {
    const id = new Uint8Array(20).fill(0x61);
    const bytes = encodeDhtState({ id, nodes: [{ id: new Uint8Array(20).fill(0x62), host: '1.2.3.4', port: 0x4142 }] });
    assert.equal(Buffer.from(bytes).toString('latin1'), `d2:id20:${'a'.repeat(20)}5:nodes26:${'b'.repeat(20)}\x01\x02\x03\x04ABe`);
  });

  it('keeps at most 1000 nodes, and drops those it cannot encode', () => {
    const random = seededRandom(1);
    const nodes: Contact[] = Array.from({ length: 1200 }, (_, i) => ({ id: randomId(random), host: `10.0.${i >> 8}.${i & 255}`, port: 6881 }));
    const back = decodeDhtState(encodeDhtState({ id: randomId(random), nodes }));
    assert.deepEqual(back.nodes, nodes.slice(0, 1000));
    const v6 = decodeDhtState(encodeDhtState({ id: randomId(random), nodes: [{ id: randomId(random), host: '::1', port: 1 }] }));
    assert.deepEqual(v6.nodes, []);
  });

  const bad: [string, Uint8Array][] = [
    ['empty', new Uint8Array(0)],
    ['not bencode', Buffer.from('{"id":1}')],
    ['a list', encode([new Uint8Array(20), new Uint8Array(0)])],
    ['no id', encode({ nodes: new Uint8Array(0) })],
    ['a 19-byte id', encode({ id: new Uint8Array(19), nodes: new Uint8Array(0) })],
    ['an integer id', encode({ id: 7, nodes: new Uint8Array(0) })],
    ['no nodes', encode({ id: new Uint8Array(20) })],
    ['nodes as a list', encode({ id: new Uint8Array(20), nodes: [] })],
    ['over 64 KiB', encode({ id: new Uint8Array(20), nodes: new Uint8Array(70_000) })],
    ['trailing bytes', Buffer.concat([encode({ id: new Uint8Array(20), nodes: new Uint8Array(0) }), Buffer.from('x')])],
  ];
  for (const [name, bytes] of bad) {
    it(`refuses ${name} with DhtError('bad-state')`, () => {
      assert.throws(() => decodeDhtState(new Uint8Array(bytes)), isBadState);
    });
  }

  it('only ever throws DhtError(bad-state) on garbage (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assert.throws(() => decodeDhtState(bytes), isBadState);
      }),
      { numRuns: 2000 },
    );
    const good = encodeDhtState({ id: new Uint8Array(20), nodes: [] });
    fc.assert(
      fc.property(fc.nat(good.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const mutated = good.slice();
        mutated[at] = byte;
        try {
          decodeDhtState(mutated);
        } catch (e) {
          assert.ok(isBadState(e), String(e));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is written and read back through a file; a missing file is no state', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peerkit-dht-state-'));
    try {
      const path = join(dir, 'sub', 'dht.dat');
      assert.equal(await readDhtState(path), undefined);
      const random = seededRandom(2);
      const state = { id: randomId(random), nodes: [{ id: randomId(random), host: '192.0.2.1', port: 6881 }] };
      await writeDhtState(path, state);
      const read = await readDhtState(path);
      assert.ok(read !== undefined);
      // (Read from a Buffer, the decoded byte strings are Buffers: compare the bytes.)
      assert.deepEqual(new Uint8Array(read.id), state.id);
      assert.deepEqual(read.nodes.map((n) => ({ ...n, id: new Uint8Array(n.id) })), state.nodes);
      assert.deepEqual(new Uint8Array(await readFile(path)), encodeDhtState(state));
      await writeFile(path, 'garbage');
      await assert.rejects(readDhtState(path), isBadState);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
