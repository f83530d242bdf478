import { fileURLToPath } from 'node:url';
import { createLinearModel } from '../create-linear-model';
import { loadEncoderHeadModel } from '../load-encoder-head-model';
import type { ServeD2poOptions } from '../serve-d2po';

/** The tiny ONNX encoder of fixtures/make_tiny_encoder.py. */
export const TINY_ENCODER_DIR = fileURLToPath(new URL('../../fixtures/tiny-encoder', import.meta.url));

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

/** The same service over a Bradley–Terry head on the tiny encoder (serve-child.ts with model `encoder-head`). */
export async function encoderChildOptions(out: string, saveFreq: number): Promise<ServeD2poOptions> {
  return { ...childOptions(out, saveFreq), relabCriteria: 'conf', model: await loadEncoderHeadModel(TINY_ENCODER_DIR, { learningRate: 0.05 }), modelSettings: { encoder: 'tiny-encoder' } };
}
