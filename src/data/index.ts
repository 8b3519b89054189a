/**
 * Datasets for training and evaluation: read a dataset spec into documents
 * (`loadTextDataset`), tokenise and pack them into blocks (`packDataset`, cached on disk),
 * and draw batches (`BatchSampler` for training, `evalBatches` for held-out loss).
 */
export { loadTextDataset, type LoadDatasetOptions, type TextDataset } from './dataset.js';
export {
  blockAt,
  packDataset,
  packTokens,
  tokenizeDocuments,
  tokenizeSplit,
  type DataTokenizer,
  type PackedDataset,
  type PackedTokens,
  type PackOptions,
  type TokenizeOptions,
} from './pack.js';
export { BatchSampler, evalBatches, stepsForEpochs, type Batch } from './batches.js';
export type { TokenCacheOptions } from './token-cache.js';
export type { SplitName } from './splits.js';
