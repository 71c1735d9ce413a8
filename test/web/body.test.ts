import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMultipart } from '../../src/web/body.js';
import { DaemonError } from '../../src/web/errors.js';

/* The browser's form upload (multipart/form-data, RFC 7578), as the UI's "add a torrent" sends it. */

const B = 'XyZ';
const form = (...parts: string[]): Buffer => Buffer.from(`${parts.map((p) => `--${B}\r\n${p}\r\n`).join('')}--${B}--\r\n`, 'latin1');

describe('multipart/form-data', () => {
  it('splits fields and a file, bytes as they are', () => {
    const body = form('Content-Disposition: form-data; name="savePath"\r\n\r\n/tmp/x', 'Content-Disposition: form-data; name="torrent"; filename="a.torrent"\r\nContent-Type: application/x-bittorrent\r\n\r\nd4:\r\n\xffe');
    const parts = parseMultipart(body, `multipart/form-data; boundary=${B}`);
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.data.toString('latin1')]),
      [
        ['savePath', undefined, '/tmp/x'],
        ['torrent', 'a.torrent', 'd4:\r\n\xffe'],
      ],
    );
  });

  it('refuses what is not a form, with a bad-request error', () => {
    for (const [body, type] of [
      ['hello', `multipart/form-data; boundary=${B}`],
      [`--${B}\r\nContent-Disposition: form-data; name="a"\r\n\r\nno end`, `multipart/form-data; boundary=${B}`],
      [`--${B}\r\nX: y\r\n\r\nv\r\n--${B}--`, `multipart/form-data; boundary=${B}`],
      ['--x--', 'multipart/form-data'],
    ] as const) {
      assert.throws(() => parseMultipart(Buffer.from(body), type), (e: unknown) => e instanceof DaemonError && e.code === 'bad-request');
    }
  });
});
