// `@pref/reward-scoring/testing`: models with deterministic weights and seeded texts for tests and
// benchmarks (not for scoring real data), and a 127.0.0.1 server with vLLM's documented shapes.
export { buildEncoderClassifier, buildCausalLM } from '../onnx-builder/transformer-models';
export type { EncoderClassifierOptions, CausalLMOptions, BuiltModel } from '../onnx-builder/transformer-models';
export { WeightGenerator } from '../onnx-builder/deterministic-weights';
export { randomTexts } from '../tokenizer/random-texts';
export { vllmCompletionsFake } from '../remote/fake-server';
export type { FakeServer, VllmFault, HttpFault } from '../remote/fake-server';
