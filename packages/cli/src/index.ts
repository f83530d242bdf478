export { createProgram, runCli } from './program';
export { createProgress } from './progress';
export type { ProgressReporter, ProgressOptions } from './progress';
