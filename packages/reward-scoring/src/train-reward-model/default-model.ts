import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

declare const __dirname: string | undefined;

/**
 * Folder of the reward model shipped with the package (`models/pref-bt-rm`): a linear Bradley–Terry
 * model trained on @pref/synthetic's synthetic + curated pairs, loadable with `loadRewardModel`.
 * See models/pref-bt-rm/README.md for its accuracy and the command that rebuilds it.
 */
export function defaultRewardModelDir(): string {
  // dist/index.{js,cjs} and src/train-reward-model/*.ts both resolve to <package>/models.
  const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
  const packageRoot = here.endsWith('train-reward-model') ? join(here, '..', '..') : join(here, '..');
  return join(packageRoot, 'models', 'pref-bt-rm');
}
