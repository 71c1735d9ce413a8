import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SimClock } from '../../src/net/index.js';

/*
 * The virtual clock: events in (due time, scheduling order), cancellation,
 * the driver's stopping rules, and the promise here-and-now rule (promise
 * callbacks run before time moves on), which the engine's async code on the
 * simulator relies on.
 */

describe('SimClock', () => {
  it('runs timers in due order, equal due times in the order they were set', async () => {
    const clock = new SimClock();
    const log: string[] = [];
    clock.setTimer(20, () => log.push(`b@${clock.now()}`));
    clock.setTimer(10, () => log.push(`a@${clock.now()}`));
    clock.setTimer(20, () => log.push(`c@${clock.now()}`));
    clock.setTimer(-5, () => log.push(`now@${clock.now()}`));
    clock.setTimer(10, () => {
      log.push(`d@${clock.now()}`);
      clock.setTimer(0, () => log.push(`e@${clock.now()}`)); // same instant, after those already due
    });
    await clock.run();
    assert.deepEqual(log, ['now@0', 'a@10', 'd@10', 'e@10', 'b@20', 'c@20']);
    assert.equal(clock.now(), 20);
  });

  it('cancelled timers never run', async () => {
    const clock = new SimClock();
    const log: number[] = [];
    const t = clock.setTimer(5, () => log.push(5));
    clock.setTimer(7, () => log.push(7));
    t.cancel();
    assert.equal(clock.pending, 1);
    await clock.run();
    assert.deepEqual(log, [7]);
    assert.equal(clock.pending, 0);
  });

  it('lets promise callbacks run at the current instant before moving on', async () => {
    const clock = new SimClock();
    const seen: number[] = [];
    const sleep = (ms: number): Promise<void> => new Promise((r) => clock.setTimer(ms, r));
    const task = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await sleep(100);
        // A chain of awaits that takes no virtual time.
        for (let k = 0; k < 50; k++) await Promise.resolve();
        seen.push(clock.now());
      }
    };
    const done = task();
    await clock.run();
    await done;
    assert.deepEqual(seen, [100, 200, 300]);
  });

  it('stops on until(), and before an event past maxTime (time then reads maxTime)', async () => {
    const clock = new SimClock();
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      clock.setTimer(1000, tick);
    };
    clock.setTimer(1000, tick);
    await clock.run({ until: () => ticks === 3 });
    assert.equal(clock.now(), 3000);
    await clock.run({ maxTime: 5500 });
    assert.equal(ticks, 5);
    assert.equal(clock.now(), 5500);
    await assert.rejects(Promise.all([clock.run({ maxTime: 6000 }), clock.run({ maxTime: 6000 })]), /already running/);
  });

  it('never goes backwards', async () => {
    const clock = new SimClock();
    let last = 0;
    let ok = true;
    for (let i = 0; i < 200; i++) {
      clock.setTimer((i * 7919) % 1000, () => {
        if (clock.now() < last) ok = false;
        last = clock.now();
        clock.setTimerAt(clock.now() - 50, () => void (ok &&= clock.now() === last)); // the past: now
      });
    }
    await clock.run();
    assert.ok(ok);
  });
});
