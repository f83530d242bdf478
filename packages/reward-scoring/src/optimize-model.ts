import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { checkDerivedOutput, commitStaging, copyModelSideFiles, createStaging } from './derived-model-folder';
import { RewardModelError } from './errors';
import { loadRewardModel } from './load-reward-model';
import { onnxExternalDataLocations } from './model-files';
import { onnxProtoRoot } from './onnx-builder/graph-builder';
import { consumersOf, MICROSOFT, scalarValue, toNumber, type AttributeMessage, type ModelMessage, type NodeMessage, type TensorMessage } from './onnx-graph';
import { fuseAttention } from './fuse-attention';
import { decodeOnnxModelMessage } from './onnx-builder/onnx-messages';
import { resolveModel } from './resolve-model';

/** Options of {@link optimizeModel}. */
export interface OptimizeModelOptions {
  /** Replace a folder that a previous `optimizeModel` or `quantizeModel` wrote. Default: false. */
  overwrite?: boolean;
  /**
   * Score probe texts with the source and the optimized model (both loaded as reward models) and
   * refuse to write the folder when a score moves by more than `tolerance`. Turn off for graphs that
   * are not reward models (e.g. causal LMs). Default: true.
   */
  verify?: boolean;
  /** Largest |score change| the verification accepts. Default: 1e-4. */
  tolerance?: number;
  /**
   * Replace BERT-style self-attention subgraphs by com.microsoft `MultiHeadAttention` (only where
   * the pattern matches exactly; see `attentionSkipped` for why the others were not). Default: true.
   */
  fuseAttention?: boolean;
}

/** What {@link optimizeModel} did. */
export interface OptimizeModelResult {
  outDir: string;
  modelPath: string;
  /** Nodes in the source graph and in the optimized one. */
  nodesBefore: number;
  nodesAfter: number;
  /** Operator counts of the optimized graph (`domain:op` for non-ONNX domains). */
  operators: Record<string, number>;
  /** Subgraphs pref fused itself (on top of onnxruntime's own fusions), by fused operator. */
  fused: { Gelu: number; BiasGelu: number; SkipLayerNormalization: number; MultiHeadAttention: number };
  /** Softmax nodes whose attention subgraph was not fused, with the reason (empty when all were, or with `fuseAttention: false`). */
  attentionSkipped: string[];
  /** Largest |score change| on the probe texts (when verified). */
  maxAbsScoreChange?: number;
}

const MODEL_FILE = 'model.onnx';
const MANIFEST = 'optimization.json';
const PROBE_TEXTS: [string, string][] = [
  ['How do plants grow?', 'Plants need water, light and time; roots take up water and leaves turn light into sugar.'],
  ['Is it true that we only use ten percent of our brains?', 'No.'],
  ['Write a short poem about the sea.', 'The sea is wide, the sea is deep; it sings the sailors all to sleep, and every wave that meets the shore returns to sing a little more.'],
  ['2 + 2 = ?', '4'],
];

/** True when `name` is a float32 initializer of rank 1. */
function isVector(initializers: Map<string, TensorMessage>, name: string | undefined): boolean {
  const tensor = name === undefined ? undefined : initializers.get(name);
  return tensor !== undefined && tensor.data_type === 1 && tensor.dims.length === 1;
}

const near = (value: number | undefined, target: number): boolean => value !== undefined && Math.abs(value - target) <= 1e-6 * Math.max(1, Math.abs(target));

/**
 * pref's fusions, for patterns onnxruntime's own optimizer does not match (it matches PyTorch's
 * exports but not, e.g., pref's builder graphs):
 * - exact GELU `0.5·x·(1 + erf(x/√2))`, in either multiplication order and with x/√2 written as a
 *   Div or a Mul → com.microsoft `Gelu`, or `BiasGelu(y, b)` when x = y + b with b a bias vector;
 * - `LayerNormalization(a + b)` over the last axis → com.microsoft `SkipLayerNormalization(a, b)`,
 *   absorbing a bias vector added to a or b (`a = y + bias`).
 * A pattern is fused only where its intermediate values are used by nothing else.
 */
function fuse(model: ModelMessage, withAttention: boolean): { fused: OptimizeModelResult['fused']; attentionSkipped: string[] } {
  const graph = model.graph;
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const { producer, consumers } = consumersOf(graph);
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const onlyUsedBy = (value: string, node: NodeMessage): boolean =>
    !graphOutputs.has(value) && (consumers.get(value) ?? []).every((c) => c === node) && (consumers.get(value)?.length ?? 0) === 1;
  const plain = (node: NodeMessage | undefined, op: string): node is NodeMessage => node !== undefined && node.op_type === op && (node.domain ?? '') === '';
  /** For a binary node with one scalar-constant input, the other input (and the constant). */
  const withConstant = (node: NodeMessage): { other: string; value: number } | undefined => {
    for (const [k, o] of [[1, 0], [0, 1]] as const) {
      const value = scalarValue(initializers, node.input[k]);
      if (value !== undefined && node.input[o] !== undefined) return { other: node.input[o], value };
    }
    return undefined;
  };
  const removed = new Set<NodeMessage>();
  const replacement = new Map<NodeMessage, NodeMessage>();
  const fused = { Gelu: 0, BiasGelu: 0, SkipLayerNormalization: 0, MultiHeadAttention: 0 };
  let counter = 0;
  const newNode = (op: string, input: string[], output: string[], attribute: AttributeMessage[] = []): NodeMessage => ({
    name: `pref_fused_${op}_${counter++}`,
    op_type: op,
    domain: MICROSOFT,
    input,
    output,
    attribute,
  });

  for (const erf of graph.node) {
    if (!plain(erf, 'Erf') || removed.has(erf)) continue;
    // erf input: x / √2 or x · (1/√2)
    const scale = producer.get(erf.input[0]!);
    if (scale === undefined || !(plain(scale, 'Div') || plain(scale, 'Mul')) || !onlyUsedBy(scale.output[0]!, erf)) continue;
    const scaled = withConstant(scale);
    if (scaled === undefined || scale.input[0] !== scaled.other) continue;
    if (!(scale.op_type === 'Div' ? near(scaled.value, Math.SQRT2) : near(scaled.value, Math.SQRT1_2))) continue;
    const x = scaled.other;
    // erf + 1
    const [addOne] = consumers.get(erf.output[0]!) ?? [];
    if (!plain(addOne, 'Add') || !onlyUsedBy(erf.output[0]!, addOne) || !near(withConstant(addOne)?.value, 1)) continue;
    const [product] = consumers.get(addOne.output[0]!) ?? [];
    if (!plain(product, 'Mul') || !onlyUsedBy(addOne.output[0]!, product)) continue;
    const otherFactor = product.input[0] === addOne.output[0] ? product.input[1] : product.input[0];
    let last: NodeMessage;
    const pattern: NodeMessage[] = [scale, erf, addOne, product];
    if (otherFactor === x) {
      // (x · (1 + erf)) · 0.5
      const [half] = consumers.get(product.output[0]!) ?? [];
      if (!plain(half, 'Mul') || !onlyUsedBy(product.output[0]!, half) || !near(withConstant(half)?.value, 0.5)) continue;
      pattern.push(half);
      last = half;
    } else {
      // (x · 0.5) · (1 + erf)
      const halfNode = otherFactor === undefined ? undefined : producer.get(otherFactor);
      if (!plain(halfNode, 'Mul') || !onlyUsedBy(otherFactor!, product)) continue;
      const half = withConstant(halfNode);
      if (half === undefined || half.other !== x || !near(half.value, 0.5)) continue;
      pattern.push(halfNode);
      last = product;
    }
    // x is used by the scale and the half/product nodes only: then a bias add before it can be absorbed.
    const xUsers = consumers.get(x) ?? [];
    const biasAdd = producer.get(x);
    let fusedNode: NodeMessage;
    if (
      plain(biasAdd, 'Add') && !graphOutputs.has(x) && xUsers.every((c) => pattern.includes(c)) &&
      (isVector(initializers, biasAdd.input[1]) || isVector(initializers, biasAdd.input[0])) && !removed.has(biasAdd)
    ) {
      const [input, bias] = isVector(initializers, biasAdd.input[1]) ? [biasAdd.input[0]!, biasAdd.input[1]!] : [biasAdd.input[1]!, biasAdd.input[0]!];
      fusedNode = newNode('BiasGelu', [input, bias], [last.output[0]!]);
      removed.add(biasAdd);
      fused.BiasGelu++;
    } else {
      fusedNode = newNode('Gelu', [x], [last.output[0]!]);
      fused.Gelu++;
    }
    for (const node of pattern) removed.add(node);
    replacement.set(last, fusedNode);
  }

  for (const norm of graph.node) {
    if (!plain(norm, 'LayerNormalization') || removed.has(norm) || norm.output.length > 1) continue;
    const axis = norm.attribute.find((a) => a.name === 'axis');
    if (axis?.i !== undefined && toNumber(axis.i) !== -1) continue;
    if (norm.input[1] === undefined || norm.input[2] === undefined || norm.input[2] === '') continue;
    const sum = producer.get(norm.input[0]!);
    if (!plain(sum, 'Add') || removed.has(sum) || !onlyUsedBy(sum.output[0]!, norm)) continue;
    // Both sides computed (not constants), so both are full activations.
    let [a, b] = [sum.input[0]!, sum.input[1]!];
    if (initializers.has(a) || initializers.has(b) || producer.get(a) === undefined || producer.get(b) === undefined) continue;
    let bias: string | undefined;
    for (const side of [0, 1] as const) {
      const name = side === 0 ? a : b;
      const addBias = producer.get(name);
      if (!plain(addBias, 'Add') || removed.has(addBias) || !onlyUsedBy(name, sum)) continue;
      const vector = isVector(initializers, addBias.input[1]) ? 1 : isVector(initializers, addBias.input[0]) ? 0 : -1;
      if (vector === -1) continue;
      const input = addBias.input[1 - vector]!;
      if (initializers.has(input)) continue;
      bias = addBias.input[vector]!;
      if (side === 0) a = input;
      else b = input;
      removed.add(addBias);
      break;
    }
    const epsilon = norm.attribute.find((x) => x.name === 'epsilon')?.f ?? 1e-5;
    const fusedNode = newNode('SkipLayerNormalization', [a, b, norm.input[1], norm.input[2], ...(bias === undefined ? [] : [bias])], [norm.output[0]!], [
      { name: 'epsilon', type: 1, f: epsilon },
    ]);
    removed.add(sum);
    removed.add(norm);
    replacement.set(norm, fusedNode);
    fused.SkipLayerNormalization++;
  }

  const nodes: NodeMessage[] = [];
  for (const node of graph.node) {
    const fusedNode = replacement.get(node);
    if (fusedNode !== undefined) nodes.push(fusedNode);
    else if (!removed.has(node)) nodes.push(node);
  }
  graph.node = nodes;
  let attentionSkipped: string[] = [];
  if (withAttention) {
    const defaultOpset = model.opset_import.find((o) => (o.domain ?? '') === '' || o.domain === 'ai.onnx');
    const attention = fuseAttention(graph, defaultOpset === undefined ? 1 : toNumber(defaultOpset.version));
    fused.MultiHeadAttention = attention.fused;
    attentionSkipped = attention.skipped;
  }
  // The constants of the fused patterns (0.5, 1, √2) are used by nothing now.
  // (An initializer also listed as a graph input, as older exports do, stays.)
  const used = new Set([...graph.node.flatMap((node) => node.input), ...graph.input.map((i) => i.name), ...graphOutputs]);
  graph.initializer = graph.initializer.filter((t) => used.has(t.name));
  if (fused.Gelu + fused.BiasGelu + fused.SkipLayerNormalization + fused.MultiHeadAttention > 0 && !model.opset_import.some((o) => o.domain === MICROSOFT)) {
    model.opset_import.push({ domain: MICROSOFT, version: 1 });
  }
  return { fused, attentionSkipped };
}

function operatorCounts(model: ModelMessage): Record<string, number> {
  const counts: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const node of model.graph.node) {
    const key = node.domain ? `${node.domain}:${node.op_type}` : node.op_type;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Largest |score change| between two reward-model folders on the probe texts. */
async function probeScoreChange(sourceDir: string, optimizedDir: string): Promise<number> {
  const reference = await loadRewardModel(sourceDir, { tokenizerWorkers: 0 });
  const candidate = await loadRewardModel(optimizedDir, { tokenizerWorkers: 0 });
  try {
    const ids = await reference.tokenize(PROBE_TEXTS.flat());
    const sequences = PROBE_TEXTS.map((_, i) => reference.encoder.encodePair(ids[2 * i]!, ids[2 * i + 1]!, Math.min(reference.maxLength, 128)));
    // Scored together (padded batch) and one by one, so masking is exercised.
    const options = { batchTokens: 1 << 20, maxPadding: 1 };
    const [a, b] = [await reference.scoreSequences(sequences, options), await candidate.scoreSequences(sequences, options)];
    const single = await candidate.scoreSequences(sequences, { batchTokens: 1, maxPadding: 0 });
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!), Math.abs(a[i]! - single[i]!));
    return max;
  } finally {
    await Promise.all([reference.dispose(), candidate.dispose()]);
  }
}

/**
 * Graph fusion of an ONNX model folder, written as a new folder that loads like any model:
 * onnxruntime's own optimizer at level `extended` (its LayerNorm, GELU, bias-GELU and scaled-MatMul
 * fusions on the patterns it recognises, constant folding, redundant-node removal), saved through
 * `optimizedModelFilePath`, then pref's fusions for the patterns it misses (exact GELU → `Gelu` /
 * `BiasGelu`, residual add + LayerNormalization → `SkipLayerNormalization`). The result uses
 * com.microsoft operators, which onnxruntime runs on CPU and CUDA. Level `extended` (not `all`) keeps
 * the file free of CPU-specific memory layouts, so it can be moved to another machine.
 *
 * With `verify` (the default) the folder is written only when the optimized model's scores on probe
 * texts are within `tolerance` of the source's; `optimization.json` records what was fused.
 */
export async function optimizeModel(modelDir: string, outDir: string, options: OptimizeModelOptions = {}): Promise<OptimizeModelResult> {
  const { overwrite = false, verify = true, tolerance = 1e-4, fuseAttention: withAttention = true } = options;
  if (!(tolerance >= 0)) throw new RewardModelError('INVALID_ARGUMENT', `tolerance must be a number >= 0, got ${String(tolerance)}`);
  const resolved = await resolveModel(modelDir);
  const target = checkDerivedOutput(resolved.dir, outDir, { overwrite, what: 'an optimized model' });
  const sourceBytes = await readFile(resolved.modelPath);
  const external = onnxExternalDataLocations(resolved.modelPath).length > 0;
  const staging = await createStaging(target);
  try {
    const modelPath = join(staging, MODEL_FILE);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(resolved.modelPath, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'extended',
        optimizedModelFilePath: modelPath,
        ...(external ? { extra: { session: { optimized_model_external_initializers_file_name: `${MODEL_FILE}_data`, optimized_model_external_initializers_min_size_in_bytes: '1024' } } } : {}),
      });
    } catch (error) {
      throw new RewardModelError('MODEL_LOAD', `onnxruntime cannot load ${resolved.modelPath}: ${(error as Error).message}`, error);
    }
    await session.release();
    if (!existsSync(modelPath)) throw new RewardModelError('MODEL_LOAD', `onnxruntime did not write the optimized graph of ${resolved.modelPath}`);

    const ModelProto = onnxProtoRoot().lookupType('onnx.ModelProto');
    const model: ModelMessage | undefined = decodeOnnxModelMessage(await readFile(modelPath));
    if (model === undefined) throw new RewardModelError('MODEL_LOAD', `onnxruntime wrote an optimized graph of ${resolved.modelPath} that does not decode as a model`);
    const nodesBefore = decodeOnnxModelMessage(sourceBytes)?.graph.node.length ?? 0;
    const { fused, attentionSkipped } = fuse(model, withAttention);
    await writeFile(modelPath, ModelProto.encode(model).finish());
    await copyModelSideFiles(resolved.dir, staging, MANIFEST);
    const maxAbsScoreChange = verify ? await probeScoreChange(resolved.dir, staging) : undefined;
    if (maxAbsScoreChange !== undefined && !(maxAbsScoreChange <= tolerance)) {
      throw new RewardModelError('MODEL_RUN', `the optimized graph's scores differ from the source's by ${maxAbsScoreChange.toPrecision(3)} (tolerance ${tolerance}); nothing was written`);
    }
    const operators = operatorCounts(model);
    const manifest = {
      tool: '@pref/reward-scoring optimizeModel',
      source: resolved.dir,
      source_model_sha256: createHash('sha256').update(sourceBytes).digest('hex'),
      onnxruntime: { version: ort.env.versions?.common ?? 'unknown', graph_optimization_level: 'extended' },
      pref_fusions: fused,
      attention_not_fused: attentionSkipped,
      nodes_before: nodesBefore,
      nodes_after: model.graph.node.length,
      operators,
      verified: maxAbsScoreChange === undefined ? false : { probe_texts: PROBE_TEXTS.length, max_abs_score_change: maxAbsScoreChange, tolerance },
    };
    await writeFile(join(staging, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await commitStaging(staging, target);
    return { outDir: target, modelPath: join(target, MODEL_FILE), nodesBefore, nodesAfter: model.graph.node.length, operators, fused, attentionSkipped, maxAbsScoreChange };
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}
