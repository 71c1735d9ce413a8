import { encode } from '../../src/bencode/index.js';
import { bytesOf, multiInfo, singleInfo, torrentBytes } from './fixtures.js';

/*
 * A corpus of hostile .torrent files: each must be refused with a typed error
 * (MetainfoError from the library, one line and exit 1 from the CLI).
 */

const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const data = bytesOf(40_000);
const valid = torrentBytes(singleInfo(data));
const pieces20 = Buffer.from(new Uint8Array(20)).toString('latin1');

export const hostileCorpus: readonly (readonly [string, Uint8Array])[] = [
  ['empty file', new Uint8Array()],
  ['truncated in the middle', valid.subarray(0, Math.floor(valid.length / 2))],
  ['truncated by one byte', valid.subarray(0, valid.length - 1)],
  ['oversized length prefix', latin1('d4:info999999999:xe')],
  ['absurd length prefix', latin1(`d4:info${'9'.repeat(40)}:xe`)],
  ['100,000-deep list nesting', latin1(`d4:info${'l'.repeat(100_000)}${'e'.repeat(100_000)}e`)],
  ['100,000-deep dict nesting', latin1('d1:a'.repeat(100_000))],
  ['non-canonical integer', latin1(`d4:infod6:lengthi040e4:name1:x12:piece lengthi16384e6:pieces20:${pieces20}ee`)],
  ['negative zero', latin1(`d4:infod6:lengthi-0e4:name1:x12:piece lengthi16384e6:pieces20:${pieces20}ee`)],
  ['duplicate keys', latin1(`d4:infod6:lengthi1e6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces20:${pieces20}ee`)],
  ['trailing garbage', new Uint8Array([...valid, 0x78])],
  ['not bencode at all', latin1('<!DOCTYPE html><html>Not found</html>')],
  ['a list, not a dictionary', encode(['info'])],
  ['info is a string', encode({ info: 'x' })],
  ['length is a string', torrentBytes({ ...singleInfo(data), length: '40000' })],
  ['name is a list', torrentBytes({ ...singleInfo(data), name: ['x'] })],
  ['piece length is a string', torrentBytes({ ...singleInfo(data), 'piece length': '16384' })],
  ['piece length zero', torrentBytes({ ...singleInfo(data), 'piece length': 0 })],
  ['files is a dict', torrentBytes({ ...singleInfo(data), length: undefined, files: { a: 1 } })],
  ['path is a string', torrentBytes({ ...singleInfo(data), length: undefined, files: [{ length: 1, path: 'a' }] })],
  ['pieces not a multiple of 20', torrentBytes({ ...singleInfo(data), pieces: new Uint8Array(41) })],
  ['too few pieces for the length', torrentBytes({ ...singleInfo(data), pieces: new Uint8Array(20) })],
  ['too many pieces for the length', torrentBytes({ ...singleInfo(data), pieces: new Uint8Array(200) })],
  ['huge file length', torrentBytes({ ...singleInfo(data), length: 2n ** 80n })],
  ['negative file length', torrentBytes({ ...multiInfo([{ path: ['a'], data }]), files: [{ length: -5, path: ['a'] }, { length: 40_005, path: ['b'] }] })],
  ['../ in a path', torrentBytes(multiInfo([{ path: ['..', '..', 'etc', 'cron.d', 'x'], data }]))],
  ['.. in the middle of a path', torrentBytes(multiInfo([{ path: ['a', '..', '..', 'x'], data }]))],
  ['name is ..', torrentBytes(singleInfo(data, 16384, '..'))],
  ['absolute path', torrentBytes(multiInfo([{ path: ['/etc', 'cron.d', 'x'], data }]))],
  ['absolute name', torrentBytes(singleInfo(data, 16384, '/etc/passwd'))],
  ['Windows drive path', torrentBytes(multiInfo([{ path: ['C:\\Windows', 'x'], data }]))],
  ['empty path component', torrentBytes(multiInfo([{ path: ['a', '', 'b'], data }]))],
  ['NUL in a path', torrentBytes(multiInfo([{ path: ['a\0/../../x'], data }]))],
];

