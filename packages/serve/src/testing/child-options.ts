import { createLinearModel } from '../create-linear-model';
import type { ServeD2poOptions } from '../serve-d2po';

/** The service options of serve-child.ts, shared with serve-d2po.test.ts's in-process reference run. */
export function childOptions(out: string, saveFreq: number): ServeD2poOptions {
  return {
    gold: 'bagofwords',
    model: createLinearModel({ learningRate: 0.05 }),
    out,
    port: 0,
    sampN: 8,
    relabels: 2,
    relabCriteria: 'rand',
    updateEpochs: 2,
    batchSize: 2,
    seed: 11,
    saveFreq,
  };
}
