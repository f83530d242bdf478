/**
 * Every error class of every @pref package against every other: `X.isInstance(e)` must be true
 * exactly when e's class is X or a subclass of X (the negative cases are the point: before @pref/core,
 * InvalidArgumentError.isInstance(new AbortedError()) was true).
 */
import { CollectError } from '@pref/collect';
import { AbortedError, InvalidArgumentError, PrefError } from '@pref/core';
import { InvalidBatchValueError } from '@pref/dpo-loss';
import { FileSystemError, InvalidRecordError, OutputConflictError, OutputLockedError } from '@pref/io';
import { NonFiniteValueError } from '@pref/margins';
import { CausalLMError, ChatTemplateError, DeviceUnavailableError, ModelFileError, RemoteScoringError, RewardModelError, ScoreRowError, TokenizerLoadError } from '@pref/reward-scoring';
import { BadRequestError, D2poClientError, ResumeError } from '@pref/serve';
import { describe, expect, it } from 'vitest';

type AnyErrorClass = (abstract new (...args: never[]) => PrefError) & { isInstance(error: unknown): boolean; readonly marker: symbol };

/** One instance of each class, and its class. */
const cases: [AnyErrorClass, () => PrefError][] = [
  [PrefError, () => new PrefError({ code: 'IO', message: 'm' })],
  [InvalidArgumentError, () => new InvalidArgumentError({ argument: 'a', message: 'm' })],
  [AbortedError, () => new AbortedError()],
  [InvalidRecordError, () => new InvalidRecordError({ file: 'f', line: 1, expected: 'x' })],
  [FileSystemError, () => new FileSystemError({ path: 'p', cause: new Error('x') })],
  [OutputConflictError, () => new OutputConflictError({ path: 'p', message: 'm' })],
  [OutputLockedError, () => new OutputLockedError({ path: 'p', lockPath: 'l' })],
  [NonFiniteValueError, () => new NonFiniteValueError({ row: 0, field: 'f', value: Number.NaN })],
  [InvalidBatchValueError, () => new InvalidBatchValueError({ field: 'f', index: 0, value: Number.NaN, expected: 'x' })],
  [RewardModelError, () => new RewardModelError('MODEL_LOAD', 'm')],
  [DeviceUnavailableError, () => new DeviceUnavailableError('m')],
  [ScoreRowError, () => new ScoreRowError('NUMERIC', 1, 'f', 'm')],
  [ModelFileError, () => new ModelFileError({ file: 'f', message: 'm' })],
  [ChatTemplateError, () => new ChatTemplateError({ source: 's', message: 'm', code: 'MODEL_RUN' })],
  [TokenizerLoadError, () => new TokenizerLoadError('f', 'x', 'm')],
  [RemoteScoringError, () => new RemoteScoringError({ endpoint: 'http://127.0.0.1:1', message: 'm' })],
  [CausalLMError, () => new CausalLMError({ code: 'MODEL_LOAD', modelDir: 'd', message: 'm' })],
  [BadRequestError, () => new BadRequestError({ message: 'm' })],
  [ResumeError, () => new ResumeError({ file: 'f', message: 'm' })],
  [D2poClientError, () => new D2poClientError({ url: 'u', message: 'm' })],
  [CollectError, () => new CollectError({ message: 'm' })],
];

describe('isInstance across every package', () => {
  for (const [errorClass] of cases) {
    it(`${errorClass.name}.isInstance is true for ${errorClass.name} and its subclasses only`, () => {
      for (const [otherClass, make] of cases) {
        const error = make();
        // The reference: the JavaScript prototype chain of this one copy.
        const expected = error instanceof errorClass;
        expect(errorClass.isInstance(error), `${errorClass.name}.isInstance(new ${otherClass.name})`).toBe(expected);
        expect(PrefError.isInstance(error)).toBe(true);
      }
      expect(errorClass.isInstance(new Error('plain'))).toBe(false);
    });
  }
  it('the negative cases of the review hold', () => {
    expect(InvalidArgumentError.isInstance(new AbortedError())).toBe(false);
    expect(DeviceUnavailableError.isInstance(new ScoreRowError('NUMERIC', 1, 'f', 'm'))).toBe(false);
    expect(RewardModelError.isInstance(new ScoreRowError('NUMERIC', 1, 'f', 'm'))).toBe(true);
  });
  it('every class has its own marker', () => {
    const markers = cases.map(([errorClass]) => errorClass.marker);
    expect(new Set(markers).size).toBe(cases.length);
  });
});
