import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { isCleanFailure, peerkit } from './run.js';

describe('peerkit lab', () => {
  it('distribution --json prints the rows and writes the CSV and the SVG', async () => {
    const out = await mkdtemp(join(tmpdir(), 'peerkit-lab-'));
    try {
      const r = await peerkit(['lab', 'distribution', '--peers', '1,3', '--size', '1MiB', '--piece-size', '64KiB', '--json', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { mode: string; n: number; seconds: number; bound: number; ratio: number }[];
      assert.deepEqual(
        rows.map((x) => `${x.mode} ${x.n}`),
        ['client-server 1', 'client-server 3', 'p2p 1', 'p2p 3'],
      );
      for (const x of rows) assert.ok(Object.keys(x).join() === 'mode,n,seconds,bound,ratio' && x.ratio >= 1, JSON.stringify(x));
      assert.match(r.stderr, /p2p N = 3: [\d.]+ s \(bound [\d.]+ s, ratio [\d.]+\)/);
      assert.equal((await readFile(join(out, 'distribution.csv'), 'utf8')).split('\n')[0], 'mode,n,seconds,bound,ratio');
      assert.match(await readFile(join(out, 'distribution.svg'), 'utf8'), /^<svg /);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('pieces prints a table per policy and writes its files', async () => {
    const out = await mkdtemp(join(tmpdir(), 'peerkit-lab-'));
    try {
      const r = await peerkit(['lab', 'pieces', '--peers', '4', '--size', '1MiB', '--piece-size', '64KiB', '--seeds', '1', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^policy\s+last done \(s\)\s+median done \(s\)\s+every piece out \(s\)\nrarest-first .*\nrandom .*\nsequential .*\n$/);
      for (const f of ['pieces.csv', 'pieces-rarest.csv', 'pieces.svg']) assert.ok((await readFile(join(out, f), 'utf8')).length > 0, f);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('refuses an unknown experiment, and an option of another experiment, in one line', async () => {
    for (const args of [['lab'], ['lab', 'nope'], ['lab', 'pieces', '--mode', 'p2p'], ['lab', 'distribution', '--riders', '2'], ['lab', 'free-rider', '--peers', '4', '--riders', '4'], ['lab', 'distribution', '--peers', '0']]) {
      const r = await peerkit(args);
      assert.ok(isCleanFailure(r) && r.code === 2, `${args.join(' ')}: ${r.code} ${r.stderr}`);
    }
    const help = await peerkit(['lab', '--help']);
    assert.equal(help.code, 0);
    for (const e of ['distribution', 'pieces', 'optimistic', 'free-rider', '--real']) assert.ok(help.stdout.includes(e), e);
  });
});
