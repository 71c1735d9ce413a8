import { copyBytes, readUint32, writeUint32 } from './bytes.js';
import { WireError } from './errors.js';

/*
 * Peer wire messages (BEP 3, with BEP 5's port, BEP 6's fast extension and
 * BEP 10's extended message). After the handshake every message is
 *
 *   <length:4><id:1><payload>         length counts the id and the payload,
 *                                     big-endian, not itself
 *
 *   keep-alive      <len=0000>                              (no id at all)
 *   choke           <len=0001><id=0>
 *   unchoke         <len=0001><id=1>
 *   interested      <len=0001><id=2>
 *   not interested  <len=0001><id=3>
 *   have            <len=0005><id=4><index:4>
 *   bitfield        <len=0001+X><id=5><bitfield:X>          (high bit of byte 0 = piece 0)
 *   request         <len=0013><id=6><index:4><begin:4><length:4>
 *   piece           <len=0009+X><id=7><index:4><begin:4><block:X>
 *   cancel          <len=0013><id=8><index:4><begin:4><length:4>
 *   port            <len=0003><id=9><listen-port:2>         (BEP 5, DHT port)
 *   suggest         <len=0005><id=0x0d><index:4>            (BEP 6 from here)
 *   have all        <len=0001><id=0x0e>
 *   have none       <len=0001><id=0x0f>
 *   reject request  <len=0013><id=0x10><index:4><begin:4><length:4>
 *   allowed fast    <len=0005><id=0x11><index:4>
 *   extended        <len=0002+X><id=20><extended id:1><payload:X>   (BEP 10)
 *
 * Any other id decodes to an `unknown` message: BEP 3 says to ignore
 * messages one does not understand, and the length prefix is what lets us
 * skip them. Whether a fast-extension message is allowed on a connection
 * (both sides set the bit, BEP 6) is the engine's call, not the codec's.
 */

export const MessageId = {
  choke: 0,
  unchoke: 1,
  interested: 2,
  notInterested: 3,
  have: 4,
  bitfield: 5,
  request: 6,
  piece: 7,
  cancel: 8,
  port: 9,
  suggest: 0x0d,
  haveAll: 0x0e,
  haveNone: 0x0f,
  reject: 0x10,
  allowedFast: 0x11,
  extended: 20,
} as const;

export type Message =
  | { readonly type: 'keep-alive' }
  | { readonly type: 'choke' }
  | { readonly type: 'unchoke' }
  | { readonly type: 'interested' }
  | { readonly type: 'not-interested' }
  | { readonly type: 'have'; readonly index: number }
  /** The raw bytes as sent; check them with `Bitfield.fromBytes`. */
  | { readonly type: 'bitfield'; readonly bitfield: Uint8Array }
  | { readonly type: 'request'; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: 'piece'; readonly index: number; readonly begin: number; readonly block: Uint8Array }
  | { readonly type: 'cancel'; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: 'port'; readonly port: number }
  | { readonly type: 'suggest'; readonly index: number }
  | { readonly type: 'have-all' }
  | { readonly type: 'have-none' }
  | { readonly type: 'reject'; readonly index: number; readonly begin: number; readonly length: number }
  | { readonly type: 'allowed-fast'; readonly index: number }
  /** `id` is the BEP 10 extended message id (0 = the extended handshake). */
  | { readonly type: 'extended'; readonly id: number; readonly payload: Uint8Array }
  /** BEP 3: unknown ids are ignored, not fatal. */
  | { readonly type: 'unknown'; readonly id: number; readonly payload: Uint8Array };

export type MessageType = Message['type'];

/** Bytes of `<len><id><index><begin>` in front of a piece message's block. */
export const PIECE_HEADER_LENGTH = 13;

/*
 * Payload length (after the id byte) per message id: exact for the fixed
 * messages, a minimum for the variable ones. Ids not listed are unknown and
 * take any length. Checked as soon as the id is in, so a `have` claiming a
 * megabyte fails at once instead of after a megabyte has been buffered.
 */
const EXACT_PAYLOAD = new Int8Array(256).fill(-1);
const MIN_PAYLOAD = new Uint8Array(256);
for (const id of [MessageId.choke, MessageId.unchoke, MessageId.interested, MessageId.notInterested, MessageId.haveAll, MessageId.haveNone]) EXACT_PAYLOAD[id] = 0;
for (const id of [MessageId.have, MessageId.suggest, MessageId.allowedFast]) EXACT_PAYLOAD[id] = 4;
for (const id of [MessageId.request, MessageId.cancel, MessageId.reject]) EXACT_PAYLOAD[id] = 12;
EXACT_PAYLOAD[MessageId.port] = 2;
MIN_PAYLOAD[MessageId.piece] = 8;
MIN_PAYLOAD[MessageId.extended] = 1;

const KNOWN_IDS = new Set<number>(Object.values(MessageId));

const NAMES: Readonly<Record<number, string>> = Object.fromEntries(Object.entries(MessageId).map(([name, id]) => [id, name]));

/**
 * Throw WireError('bad-length') unless `payloadLength` (the length prefix
 * minus the id byte) fits message `id`. `offset` is where the frame starts.
 */
export function checkPayloadLength(id: number, payloadLength: number, offset?: number): void {
  const exact = EXACT_PAYLOAD[id]!;
  if (exact >= 0 ? payloadLength !== exact : payloadLength < MIN_PAYLOAD[id]!) {
    const want = exact >= 0 ? `${exact}` : `at least ${MIN_PAYLOAD[id]!}`;
    throw new WireError('bad-length', `${NAMES[id] ?? `message ${id}`} with a ${payloadLength}-byte payload, expected ${want}`, offset);
  }
}

// The payload-less messages carry no data, so one frozen object each will do.
const CHOKE: Message = Object.freeze({ type: 'choke' });
const UNCHOKE: Message = Object.freeze({ type: 'unchoke' });
const INTERESTED: Message = Object.freeze({ type: 'interested' });
const NOT_INTERESTED: Message = Object.freeze({ type: 'not-interested' });
const HAVE_ALL: Message = Object.freeze({ type: 'have-all' });
const HAVE_NONE: Message = Object.freeze({ type: 'have-none' });
/** The keep-alive message (a zero length prefix). */
export const KEEP_ALIVE: Message = Object.freeze({ type: 'keep-alive' });

/**
 * The message whose payload is `buf[at, at + payloadLength)`, with `id`
 * already read and `checkPayloadLength` already passed.
 *
 * A piece's block is a view on `buf` (no copy: blocks are the bulk of the
 * traffic, and the engine writes them straight to disk). Every other
 * variable payload is copied, so a small message kept around (a bitfield, a
 * ut_metadata piece) never pins a whole received chunk.
 */
export function decodePayload(id: number, buf: Uint8Array, at: number, payloadLength: number): Message {
  switch (id) {
    case MessageId.choke:
      return CHOKE;
    case MessageId.unchoke:
      return UNCHOKE;
    case MessageId.interested:
      return INTERESTED;
    case MessageId.notInterested:
      return NOT_INTERESTED;
    case MessageId.have:
      return { type: 'have', index: readUint32(buf, at) };
    case MessageId.bitfield:
      return { type: 'bitfield', bitfield: copy(buf, at, payloadLength) };
    case MessageId.request:
      return { type: 'request', index: readUint32(buf, at), begin: readUint32(buf, at + 4), length: readUint32(buf, at + 8) };
    case MessageId.piece:
      return {
        type: 'piece',
        index: readUint32(buf, at),
        begin: readUint32(buf, at + 4),
        // A plain Uint8Array view even when `buf` is a Buffer, so callers see one type.
        block: new Uint8Array(buf.buffer, buf.byteOffset + at + 8, payloadLength - 8),
      };
    case MessageId.cancel:
      return { type: 'cancel', index: readUint32(buf, at), begin: readUint32(buf, at + 4), length: readUint32(buf, at + 8) };
    case MessageId.port:
      return { type: 'port', port: (buf[at]! << 8) | buf[at + 1]! };
    case MessageId.suggest:
      return { type: 'suggest', index: readUint32(buf, at) };
    case MessageId.haveAll:
      return HAVE_ALL;
    case MessageId.haveNone:
      return HAVE_NONE;
    case MessageId.reject:
      return { type: 'reject', index: readUint32(buf, at), begin: readUint32(buf, at + 4), length: readUint32(buf, at + 8) };
    case MessageId.allowedFast:
      return { type: 'allowed-fast', index: readUint32(buf, at) };
    case MessageId.extended:
      return { type: 'extended', id: buf[at]!, payload: copy(buf, at + 1, payloadLength - 1) };
    default:
      return { type: 'unknown', id, payload: copy(buf, at, payloadLength) };
  }
}

function copy(buf: Uint8Array, at: number, n: number): Uint8Array {
  return copyBytes(buf, at, at + n);
}

/**
 * Decode exactly one frame (`<length><id><payload>`, or a keep-alive's four
 * zero bytes). For tests and for callers that frame messages themselves; a
 * connection's stream goes through WireDecoder. Throws WireError.
 */
export function decodeMessage(frame: Uint8Array): Message {
  if (frame.length < 4) throw new WireError('bad-length', `frame of ${frame.length} bytes, need at least 4`, 0);
  const length = readUint32(frame, 0);
  if (length !== frame.length - 4) throw new WireError('bad-length', `length prefix ${length} but ${frame.length - 4} bytes follow`, 0);
  if (length === 0) return KEEP_ALIVE;
  const id = frame[4]!;
  checkPayloadLength(id, length - 1, 0);
  return decodePayload(id, frame, 5, length - 1);
}

function checkUint32(what: string, v: number): void {
  if (v >>> 0 !== v) throw new RangeError(`${what} ${v} is not a 32-bit unsigned integer`);
}

function checkByte(what: string, v: number): void {
  if ((v & 0xff) !== v) throw new RangeError(`${what} ${v} is not a byte`);
}

/** A frame with `payloadLength` bytes after the id, header filled in. */
function frame(id: number, payloadLength: number): Uint8Array {
  const out = new Uint8Array(5 + payloadLength);
  writeUint32(out, 0, 1 + payloadLength);
  out[4] = id;
  return out;
}

function indexFrame(id: number, index: number): Uint8Array {
  checkUint32('index', index);
  const out = frame(id, 4);
  writeUint32(out, 5, index);
  return out;
}

function blockFrame(id: number, index: number, begin: number, length: number): Uint8Array {
  checkUint32('index', index);
  checkUint32('begin', begin);
  checkUint32('length', length);
  const out = frame(id, 12);
  writeUint32(out, 5, index);
  writeUint32(out, 9, begin);
  writeUint32(out, 13, length);
  return out;
}

function payloadFrame(id: number, payload: Uint8Array): Uint8Array {
  const out = frame(id, payload.length);
  out.set(payload, 5);
  return out;
}

/**
 * Encode a message as a length-prefixed frame. Throws RangeError when a
 * field does not fit its wire width (an index over 2^32 - 1, a port over
 * 65,535, an `unknown` message with a known id).
 */
export function encodeMessage(m: Message): Uint8Array {
  switch (m.type) {
    case 'keep-alive':
      return new Uint8Array(4);
    case 'choke':
      return frame(MessageId.choke, 0);
    case 'unchoke':
      return frame(MessageId.unchoke, 0);
    case 'interested':
      return frame(MessageId.interested, 0);
    case 'not-interested':
      return frame(MessageId.notInterested, 0);
    case 'have':
      return indexFrame(MessageId.have, m.index);
    case 'bitfield':
      return payloadFrame(MessageId.bitfield, m.bitfield);
    case 'request':
      return blockFrame(MessageId.request, m.index, m.begin, m.length);
    case 'piece': {
      const out = new Uint8Array(PIECE_HEADER_LENGTH + m.block.length);
      out.set(encodePieceHeader(m.index, m.begin, m.block.length));
      out.set(m.block, PIECE_HEADER_LENGTH);
      return out;
    }
    case 'cancel':
      return blockFrame(MessageId.cancel, m.index, m.begin, m.length);
    case 'port': {
      if ((m.port & 0xffff) !== m.port) throw new RangeError(`port ${m.port} is not a 16-bit unsigned integer`);
      const out = frame(MessageId.port, 2);
      out[5] = m.port >>> 8;
      out[6] = m.port;
      return out;
    }
    case 'suggest':
      return indexFrame(MessageId.suggest, m.index);
    case 'have-all':
      return frame(MessageId.haveAll, 0);
    case 'have-none':
      return frame(MessageId.haveNone, 0);
    case 'reject':
      return blockFrame(MessageId.reject, m.index, m.begin, m.length);
    case 'allowed-fast':
      return indexFrame(MessageId.allowedFast, m.index);
    case 'extended':
      return encodeExtendedFrame(m.id, m.payload);
    case 'unknown':
      checkByte('message id', m.id);
      // It would decode as the known message (or fail its length check), not round-trip.
      if (KNOWN_IDS.has(m.id)) throw new RangeError(`message id ${m.id} is ${NAMES[m.id]}, not an unknown message`);
      return payloadFrame(m.id, m.payload);
  }
}

/** `<len=2+X><id=20><extended id><payload:X>`; encodeExtended in extended.ts is this. */
export function encodeExtendedFrame(id: number, payload: Uint8Array): Uint8Array {
  checkByte('extended message id', id);
  const out = frame(MessageId.extended, 1 + payload.length);
  out[5] = id;
  out.set(payload, 6);
  return out;
}

/**
 * The 13-byte frame header of a piece message (<len=9+X><id=7><index><begin>),
 * so a block can be sent without copying it into a new buffer: write the
 * header, then the block (a vectored write does both in one syscall).
 */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Uint8Array {
  checkUint32('index', index);
  checkUint32('begin', begin);
  // The length prefix (9 + X) must fit in 32 bits too.
  if (!Number.isInteger(blockLength) || blockLength < 0 || blockLength > 0xffff_ffff - 9) throw new RangeError(`block length ${blockLength} does not fit a piece message`);
  const out = new Uint8Array(PIECE_HEADER_LENGTH);
  writeUint32(out, 0, 9 + blockLength);
  out[4] = MessageId.piece;
  writeUint32(out, 5, index);
  writeUint32(out, 9, begin);
  return out;
}
