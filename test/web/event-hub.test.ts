import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { EventHub, MAX_MISSED } from '../../src/web/events.js';

/* The live-event hub with responses that read, and one that never does. */

class FakeResponse extends EventEmitter {
  readonly frames: string[] = [];
  writableNeedDrain = false;
  writableEnded = false;
  destroyed = false;
  writeHead(): this {
    return this;
  }
  write(s: string): boolean {
    this.frames.push(s);
    return true;
  }
  end(): void {
    this.writableEnded = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const fake = (): FakeResponse & ServerResponse => new FakeResponse() as FakeResponse & ServerResponse;

describe('EventHub', () => {
  it('hangs up on a client that never reads, and keeps serving the others', () => {
    const hub = new EventHub();
    const reader = fake();
    const stuck = fake();
    hub.add(reader, undefined);
    hub.add(stuck, undefined);
    stuck.writableNeedDrain = true;
    for (let i = 0; i < MAX_MISSED - 1; i++) hub.broadcast('removed', { infoHash: 'a'.repeat(40) });
    assert.equal(stuck.destroyed, false, 'a slow reader gets time');
    hub.broadcast('removed', { infoHash: 'a'.repeat(40) });
    assert.equal(stuck.destroyed, true);
    assert.equal(hub.size, 1);
    assert.equal(reader.frames.filter((f) => f.startsWith('event: removed')).length, MAX_MISSED);
  });

  it('forgives a reader that catches up', () => {
    const hub = new EventHub();
    const slow = fake();
    hub.add(slow, undefined);
    for (let round = 0; round < 3; round++) {
      slow.writableNeedDrain = true;
      for (let i = 0; i < MAX_MISSED - 1; i++) hub.ping();
      slow.writableNeedDrain = false;
      hub.ping();
    }
    assert.equal(slow.destroyed, false);
    assert.equal(hub.size, 1);
  });

  it('a removed torrent: its followers follow nothing from then on', () => {
    const hub = new EventHub();
    const hash = 'b'.repeat(40);
    hub.add(fake(), hash);
    hub.add(fake(), undefined);
    assert.deepEqual([...hub.followed()], [hash]);
    hub.unfollow(hash);
    assert.deepEqual([...hub.followed()], []);
    assert.equal(hub.size, 2);
  });
});
