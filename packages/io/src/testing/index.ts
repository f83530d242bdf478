// `@pref/io/testing`: a fake Hugging Face Hub on 127.0.0.1 for tests of Hub downloads.
export { startFakeHub } from './fake-hub';
export type { FakeHub, FakeHubRepo, FakeHubAnswers } from './fake-hub';
