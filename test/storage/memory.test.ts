import { MemoryStore } from '../../src/storage/memory.js';
import { describeLedgerStore } from './conformance.js';

describeLedgerStore('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
