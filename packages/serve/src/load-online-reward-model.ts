import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@pref/core';
import { confinedModelFile, loadEncoderHeadModel, type EncoderHeadModelOptions } from './load-encoder-head-model';
import { loadLinearModel } from './load-linear-model';
import type { LinearModelOptions } from './create-linear-model';
import type { OnlineRewardModel } from './online-reward-model';

/** Options of {@link loadOnlineRewardModel}: those of either model (each takes what applies to it). */
export type OnlineRewardModelOptions = LinearModelOptions & EncoderHeadModelOptions;

/**
 * The online model a `--model DIR` folder starts: a linear Bradley–Terry folder (`config.json`
 * `model_type` `pref-linear-bt`: `pref train-rm` output, `models/pref-bt-rm`, a linear checkpoint) with
 * {@link loadLinearModel}, any other ONNX folder as an encoder under a Bradley–Terry head with
 * {@link loadEncoderHeadModel} (an encoder-head checkpoint resumes its head).
 */
export async function loadOnlineRewardModel(dir: string, options: OnlineRewardModelOptions = {}): Promise<OnlineRewardModel> {
  if (!existsSync(dir)) throw new InvalidArgumentError({ argument: '--model', message: `${dir}: not found` });
  const configPath = confinedModelFile(dir, 'config.json');
  if (configPath === undefined) throw new InvalidArgumentError({ argument: '--model', message: `${dir}: has no config.json` });
  let modelType: unknown;
  try {
    modelType = (JSON.parse(readFileSync(configPath, 'utf8')) as { model_type?: unknown }).model_type;
  } catch (error) {
    throw new InvalidArgumentError({ argument: '--model', message: `${configPath}: not valid JSON (${(error as Error).message})`, cause: error });
  }
  const { pooling, cacheSize, maxLength, threads, ...linear } = options;
  if (modelType === 'pref-linear-bt') {
    if (pooling !== undefined) throw new InvalidArgumentError({ argument: 'pooling', message: `${dir} is a linear word model: pooling applies to encoder folders only` });
    return loadLinearModel(dir, linear);
  }
  const { maxVocab: _maxVocab, ...head } = linear;
  return loadEncoderHeadModel(dir, { ...head, ...(pooling === undefined ? {} : { pooling }), ...(cacheSize === undefined ? {} : { cacheSize }), ...(maxLength === undefined ? {} : { maxLength }), ...(threads === undefined ? {} : { threads }) });
}
