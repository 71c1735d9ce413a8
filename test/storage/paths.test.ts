import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planPaths, type PathTorrent } from '../../src/storage/index.js';
import { storageError } from './helpers.js';

const multi = (paths: string[][], padding: boolean[] = []): PathTorrent => ({
  name: 'T',
  multiFile: true,
  files: paths.map((path, i) => ({ path, padding: padding[i] === true })),
});
const names = (t: PathTorrent, windowsSafe = false): string[] => planPaths(t, { windowsSafe }).map((c) => c.join('/'));

describe('planPaths', () => {
  it('puts a single file at <name> and a multi-file torrent under <name>/', () => {
    assert.deepEqual(planPaths({ name: 'one.iso', multiFile: false, files: [{ path: ['one.iso'], padding: false }] }), [['one.iso']]);
    assert.deepEqual(names(multi([['a'], ['b', 'c']])), ['T/a', 'T/b/c']);
  });

  it("refuses '..', '.', empty components and NUL, whatever the parser let through", () => {
    for (const bad of ['..', '.', '', 'a\0b']) {
      assert.throws(() => planPaths(multi([['ok'], ['x', bad]])), storageError('unsafe-path'));
      assert.throws(() => planPaths({ name: bad, multiFile: false, files: [{ path: [bad], padding: false }] }), storageError('unsafe-path'));
    }
    assert.throws(() => planPaths(multi([[]])), storageError('unsafe-path'));
  });

  it('keeps separators inside a component from splitting it', () => {
    assert.deepEqual(names(multi([['AC/DC', '..\\..\\x']])), ['T/AC_DC/.._.._x']);
  });

  it('rewrites names Windows cannot hold when windowsSafe', () => {
    const t = multi([['CON'], ['con.txt'], ['Lpt1.tar.gz'], ['COM¹'], ['a<b>:c"d|e?f*g.txt'], ['tab\there'], ['trail. '], ['dots...'], ['CONSOLE.txt'], ['ok name.txt']]);
    assert.deepEqual(names(t, true), [
      'T/CON_',
      'T/con_.txt',
      'T/Lpt1_.tar.gz',
      'T/COM¹_',
      'T/a_b__c_d_e_f_g.txt',
      'T/tab_here',
      'T/trail__',
      'T/dots___',
      'T/CONSOLE.txt',
      'T/ok name.txt',
    ]);
    // Off: names stay as the torrent gives them.
    assert.deepEqual(names(multi([['a<b>:c.txt'], ['CON']]), false), ['T/a<b>:c.txt', 'T/CON']);
  });

  it('gives names that collide after case folding or NFC a suffix, in torrent order', () => {
    const t = multi([['Readme.txt'], ['README.txt'], ['readme.TXT'], ['caf\u00e9'], ['cafe\u0301'], ['.bashrc'], ['.BASHRC'], ['README_1.txt']]);
    assert.deepEqual(names(t), ['T/Readme.txt', 'T/README_1.txt', 'T/readme_2.TXT', 'T/caf\u00e9', 'T/cafe\u0301_1', 'T/.bashrc', 'T/.BASHRC_1', 'T/README_1_1.txt']);
  });

  it('merges folders that collide, and renames a folder that collides with a file', () => {
    const t = multi([['Docs', 'a'], ['docs', 'b'], ['docs', 'A'], ['notes'], ['NOTES', 'x']]);
    assert.deepEqual(names(t), ['T/Docs/a', 'T/Docs/b', 'T/Docs/A_1', 'T/notes', 'T/NOTES_1/x']);
  });

  it('collides names only after making them Windows-safe', () => {
    assert.deepEqual(names(multi([['a?'], ['a*']]), true), ['T/a_', 'T/a__1']);
  });

  it('lets padding files share a path and claim no name', () => {
    const t = multi([['.pad', '10'], ['x'], ['.pad', '10'], ['.pad']], [true, false, true, false]);
    assert.deepEqual(names(t), ['T/.pad/10', 'T/x', 'T/.pad/10', 'T/.pad']);
  });

  it('never maps two real files to one folded path (property)', () => {
    const component = fc.constantFrom('a', 'A', 'b', 'caf\u00e9', 'cafe\u0301', 'x.txt', 'X.TXT', 'x_1.txt', 'CON', 'a?');
    fc.assert(
      fc.property(fc.array(fc.array(component, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 12 }), fc.boolean(), (paths, windowsSafe) => {
        const out = names(multi(paths), windowsSafe).map((p) => p.normalize('NFC').toLowerCase());
        // No file path equals another, and none is a folder of another.
        const set = new Set(out);
        assert.equal(set.size, out.length);
        for (const p of out) for (const q of out) assert.ok(!q.startsWith(`${p}/`), `${p} is a file and a folder`);
        // Deterministic.
        assert.deepEqual(names(multi(paths), windowsSafe), names(multi(paths), windowsSafe));
      }),
      { numRuns: 300 },
    );
  });
});
