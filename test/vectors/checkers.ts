/** Checkers for vector families beyond the Merkle ones (notes, checkpoints, receipts). */
import type { VectorFile } from './walk.js';

export const vectorCheckers: Record<string, (v: VectorFile['value']) => void> = {};
