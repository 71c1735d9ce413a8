import { FaultyStore, MemoryStore, openFileStore } from '../../src/storage/index.js';
import { pieceStoreSuite } from './conformance.js';
import { tempDir } from './helpers.js';

pieceStoreSuite('MemoryStore', async (t) => ({ store: new MemoryStore(t.layout), cleanup: async () => undefined }));

pieceStoreSuite('file store', async (t) => {
  const tmp = await tempDir('conf');
  return { store: await openFileStore(t, tmp.dir), cleanup: tmp.remove };
});

pieceStoreSuite('file store, one open file, no preallocation', async (t) => {
  const tmp = await tempDir('conf1');
  return { store: await openFileStore(t, tmp.dir, { maxOpenFiles: 1, preallocate: 'none' }), cleanup: tmp.remove };
});

pieceStoreSuite('FaultyStore without faults', async (t) => ({ store: new FaultyStore(new MemoryStore(t.layout)), cleanup: async () => undefined }));
