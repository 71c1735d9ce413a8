import fc from 'fast-check';
import { MessageId, type Message } from '../../src/wire/index.js';

/* Generators shared by the wire tests: messages of every type, and raw frames. */

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const bytes = (maxLength: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength });
const knownIds = new Set<number>(Object.values(MessageId));

export const unknownIdArb = fc.integer({ min: 0, max: 255 }).filter((id) => !knownIds.has(id));

export const messageArb: fc.Arbitrary<Message> = fc.oneof(
  fc.constantFrom<Message>(
    { type: 'keep-alive' },
    { type: 'choke' },
    { type: 'unchoke' },
    { type: 'interested' },
    { type: 'not-interested' },
    { type: 'have-all' },
    { type: 'have-none' },
  ),
  u32.map((index): Message => ({ type: 'have', index })),
  bytes(40).map((bitfield): Message => ({ type: 'bitfield', bitfield })),
  fc.tuple(u32, u32, u32).map(([index, begin, length]): Message => ({ type: 'request', index, begin, length })),
  fc.tuple(u32, u32, bytes(300)).map(([index, begin, block]): Message => ({ type: 'piece', index, begin, block })),
  fc.tuple(u32, u32, u32).map(([index, begin, length]): Message => ({ type: 'cancel', index, begin, length })),
  fc.integer({ min: 0, max: 0xffff }).map((port): Message => ({ type: 'port', port })),
  u32.map((index): Message => ({ type: 'suggest', index })),
  fc.tuple(u32, u32, u32).map(([index, begin, length]): Message => ({ type: 'reject', index, begin, length })),
  u32.map((index): Message => ({ type: 'allowed-fast', index })),
  fc.tuple(fc.integer({ min: 0, max: 255 }), bytes(60)).map(([id, payload]): Message => ({ type: 'extended', id, payload })),
  fc.tuple(unknownIdArb, bytes(60)).map(([id, payload]): Message => ({ type: 'unknown', id, payload })),
);

/** Payload sizes (after the id) of the fixed-length messages. */
export const FIXED_PAYLOAD: ReadonlyMap<number, number> = new Map([
  [MessageId.choke, 0],
  [MessageId.unchoke, 0],
  [MessageId.interested, 0],
  [MessageId.notInterested, 0],
  [MessageId.have, 4],
  [MessageId.request, 12],
  [MessageId.cancel, 12],
  [MessageId.port, 2],
  [MessageId.suggest, 4],
  [MessageId.haveAll, 0],
  [MessageId.haveNone, 0],
  [MessageId.reject, 12],
  [MessageId.allowedFast, 4],
]);

/** A frame as raw bytes: any id, with a payload of a length valid for it. */
export const frameArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.constant(new Uint8Array(4)),
  fc.integer({ min: 0, max: 255 }).chain((id) => {
    const fixed = FIXED_PAYLOAD.get(id);
    const min = id === MessageId.piece ? 8 : id === MessageId.extended ? 1 : 0;
    const payload = fixed !== undefined ? fc.uint8Array({ minLength: fixed, maxLength: fixed }) : fc.uint8Array({ minLength: min, maxLength: min + 100 });
    return payload.map((p) => {
      const out = new Uint8Array(5 + p.length);
      new DataView(out.buffer).setUint32(0, 1 + p.length);
      out[4] = id;
      out.set(p, 5);
      return out;
    });
  }),
);

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `bytes` cut at the given points (taken modulo its length, in any order). */
export function split(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of [...points, bytes.length]) {
    if (p > from) out.push(bytes.slice(from, p));
    from = Math.max(from, p);
  }
  return out;
}
