import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Torrent } from '../../src/engine/index.js';
import { parseTorrent } from '../../src/metainfo/index.js';
import { Entry } from '../../src/web/entry.js';
import { summary } from '../../src/web/views.js';
import { bytesOf, multiInfo, torrentBytes } from '../metainfo/fixtures.js';

/* What the list shows of a torrent, from a running engine's figures (a stand-in with the few the views read). */

const m = parseTorrent(
  torrentBytes(
    multiInfo(
      [
        { path: ['big.bin'], data: bytesOf(16384 * 8, 1) },
        { path: ['small.txt'], data: bytesOf(16384 * 2, 2) },
      ],
      16384,
      'album',
    ),
  ),
);

function running(have: (i: number) => boolean, downloadRate: number): Torrent {
  const bytes = Array.from({ length: m.pieceCount }, (_, i) => (have(i) ? m.layout.pieceSize(i) : 0)).reduce((a, b) => a + b, 0);
  const stand = {
    state: 'downloading',
    selectedComplete: false,
    hasPiece: have,
    progress: { bytes },
    downloadRate: { rate: () => downloadRate },
    uploadRate: { rate: () => 0 },
    uploaded: 0,
    downloaded: 0,
    peerCount: 1,
    error: undefined,
    on: () => () => undefined,
    selectPieces: () => undefined,
  };
  return stand as unknown as Torrent;
}

describe('the torrent list', () => {
  it('counts the time left on the files not skipped', () => {
    const e = new Entry({ infoHash: m.infoHashHex, savePath: '/downloads', paused: false, addedAt: 0, uploaded: 0, downloaded: 0, priorities: ['skip', 'normal'] });
    e.metainfo = m;
    e.attach(running(() => false, 16384));
    const s = summary(e, 0);
    assert.equal(s.state, 'downloading');
    assert.equal(s.eta, 2, 'small.txt: two pieces at a piece a second; big.bin is skipped');
  });

  it('without skipped files, the whole torrent', () => {
    const e = new Entry({ infoHash: m.infoHashHex, savePath: '/downloads', paused: false, addedAt: 0, uploaded: 0, downloaded: 0 });
    e.metainfo = m;
    e.attach(running((i) => i < 3, 16384));
    assert.equal(summary(e, 0).eta, 7);
  });
});
