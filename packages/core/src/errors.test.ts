import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError, PrefError, throwIfAborted } from './errors';

class ChildError extends InvalidArgumentError {
  static override readonly marker: symbol = Symbol.for('pref.error.test.child');
}
class ForgetfulError extends PrefError {}

const samples = {
  PrefError: () => new PrefError({ code: 'X', message: 'm' }),
  InvalidArgumentError: () => new InvalidArgumentError({ argument: 'a', message: 'm' }),
  AbortedError: () => new AbortedError(),
  ChildError: () => new ChildError({ argument: 'a', message: 'm' }),
};
const classes = { PrefError, InvalidArgumentError, AbortedError, ChildError };
// Which classes each sample is an instance of (itself and its ancestors).
const expected: Record<keyof typeof samples, (keyof typeof classes)[]> = {
  PrefError: ['PrefError'],
  InvalidArgumentError: ['PrefError', 'InvalidArgumentError'],
  AbortedError: ['PrefError', 'AbortedError'],
  ChildError: ['PrefError', 'InvalidArgumentError', 'ChildError'],
};

describe('isInstance', () => {
  for (const [sampleName, make] of Object.entries(samples) as [keyof typeof samples, () => PrefError][]) {
    for (const [className, errorClass] of Object.entries(classes) as [keyof typeof classes, typeof PrefError][]) {
      const want = expected[sampleName].includes(className);
      it(`${className}.isInstance(new ${sampleName}) is ${want}`, () => {
        expect(errorClass.isInstance(make())).toBe(want);
        expect(make() instanceof errorClass).toBe(want);
      });
    }
  }
  it('recognises an error from another copy of the package by its Symbol.for marker', () => {
    const foreign = Object.defineProperty(new Error('x'), Symbol.for('pref.error.invalid-argument'), { value: true });
    expect(InvalidArgumentError.isInstance(foreign)).toBe(true);
    expect(AbortedError.isInstance(foreign)).toBe(false);
  });
  it('works detached from its class (as a callback)', async () => {
    expect([samples.InvalidArgumentError(), samples.AbortedError()].map(InvalidArgumentError.isInstance)).toEqual([true, false]);
    expect([samples.AbortedError(), samples.ChildError()].filter(ChildError.isInstance)).toHaveLength(1);
    await expect(Promise.reject(samples.ChildError())).rejects.toSatisfy(InvalidArgumentError.isInstance);
  });
  it('is false for plain errors and non-objects', () => {
    for (const value of [new Error('x'), null, undefined, 'PrefError', 1, {}]) expect(PrefError.isInstance(value)).toBe(false);
  });
  it('refuses a subclass that declares no marker of its own', () => {
    expect(() => new ForgetfulError({ code: 'X', message: 'm' })).toThrow(/ForgetfulError extends PrefError without its own static marker/);
    expect(() => ForgetfulError.isInstance(new Error())).toThrow(TypeError);
  });
});

describe('the errors', () => {
  it('keep code, message, name and cause', () => {
    const cause = new Error('root');
    const error = new InvalidArgumentError({ argument: 'epsilon', message: 'must be ≥ 0', cause });
    expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', message: 'epsilon: must be ≥ 0', name: 'InvalidArgumentError', argument: 'epsilon', cause });
    expect(new AbortedError().code).toBe('ABORTED');
  });
  it('throwIfAborted throws AbortedError with the reason as cause', () => {
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal)).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
    controller.abort('stop');
    expect(() => throwIfAborted(controller.signal)).toThrow(AbortedError);
  });
});
