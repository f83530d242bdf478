export { PrefError, InvalidArgumentError, AbortedError, throwIfAborted } from './errors';
export type { CoreErrorCode, PrefErrorOptions } from './errors';
export {
  cyrb53,
  hash53,
  seedKeyWords,
  uniform53,
  uniformFromHash,
  uniformsFromKeyHashes,
  createKeyedUniform,
} from './keyed-random';
export type { KeyedUniformOptions } from './keyed-random';
export { quantileSorted } from './quantile';
export { argsort, sortIndicesByKey } from './argsort';
export { logSigmoid, softplus, sigmoid, log1mexp } from './stable-math';
export { pythonFloatRepr } from './python-float';
export { collect } from './collect';
