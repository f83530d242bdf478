/**
 * Self-attention fusion for `optimizeModel`: the attention subgraph of a BERT-style PyTorch export (or
 * of pref's ONNX builder), as onnxruntime's `extended` optimizer leaves it, is replaced by one
 * com.microsoft `MultiHeadAttention` node. Internal to @pref/reward-scoring.
 *
 * The subgraph, per layer (Q, K, V are any [batch, seq, heads·headDim] tensors, usually MatMul + bias):
 *
 *   q4 = Transpose(Reshape(Q, [0, 0, heads, headDim]), perm [0, 2, 1, 3])
 *   kT = Transpose(Reshape(K, [0, 0, heads, headDim]), perm [0, 2, 3, 1])        (or perm [0, 2, 1, 3]
 *                                                                                    with FusedMatMul transB = 1)
 *   v4 = Transpose(Reshape(V, [0, 0, heads, headDim]), perm [0, 2, 1, 3])
 *   scores = FusedMatMul(q4, kT, alpha = s)  |  MatMul(q4, kT) · s  |  MatMul(q4, kT) / (1/s)  |  MatMul(q4, kT)
 *   probs  = Softmax(scores + maskBias, axis −1)     (mask add optional)
 *   out    = Reshape(Transpose(MatMul(probs, v4), perm [0, 2, 1, 3]), [0, 0, heads·headDim])
 *
 * with maskBias = (1 − float(M)) · c broadcast to [batch, 1, 1, seq] (Cast, Sub from 1, Mul by a
 * finite constant c, and Unsqueezes that put M's two axes first and last), M a 2-D integer or bool
 * graph input (the attention mask). It becomes
 *
 *   out = MultiHeadAttention(Q, K, V, key_padding_mask = Cast(M, int32); num_heads, scale = s, mask_filter_value = c)
 *
 * onnxruntime's MultiHeadAttention adds exactly c where M is 0 and 0 where M is 1 (the source adds
 * (1 − M)·c, the same for a 0/1 mask, which is what pref feeds). The Q/K/V projections stay separate
 * MatMuls: large GEMMs, and still quantizable by `quantizeModel`. Anything that differs (another mask
 * construction such as a causal or relative-position bias, DeBERTa's disentangled attention, a
 * key/value cache, an intermediate value used outside the pattern) is left alone.
 */
import {
  consumersOf,
  intsAttribute,
  intAttribute,
  int64Values,
  MICROSOFT,
  scalarValue,
  type GraphMessage,
  type NodeMessage,
} from './onnx-graph';

/** How many attention subgraphs were fused, and why the others were not (one reason per Softmax). */
export interface AttentionFusionResult {
  fused: number;
  skipped: string[];
}

const sameInts = (a: readonly number[] | undefined, b: readonly number[]): boolean => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * Replaces every exactly matching self-attention subgraph of `graph` (changed in place) by
 * `MultiHeadAttention`. `defaultOpset` is the model's ai.onnx opset (Softmax's default axis and
 * Unsqueeze's axes input depend on it).
 */
export function fuseAttention(graph: GraphMessage, defaultOpset: number): AttentionFusionResult {
  const { producer, consumers } = consumersOf(graph);
  const graphOutputs = new Set(graph.output.map((o) => o.name));
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const graphInputs = new Map(graph.input.map((i) => [i.name, i]));
  const onlyUsedBy = (value: string, node: NodeMessage): boolean => {
    const users = consumers.get(value) ?? [];
    return !graphOutputs.has(value) && users.length === 1 && users[0] === node;
  };
  const plain = (node: NodeMessage | undefined, op: string): node is NodeMessage => node !== undefined && node.op_type === op && (node.domain ?? '') === '';
  const removed = new Set<NodeMessage>();
  const replacement = new Map<NodeMessage, NodeMessage>();
  const maskCasts = new Map<string, NodeMessage>();
  const skipped: string[] = [];
  let fused = 0;

  /** `Reshape(x, [0, 0, heads, headDim])` (second entry 0 or −1), used only by `user`: its input and sizes. */
  const splitHeads = (reshape: NodeMessage | undefined, user: NodeMessage): { input: string; heads: number; headDim: number } | undefined => {
    if (!plain(reshape, 'Reshape') || intAttribute(reshape, 'allowzero', 0) !== 0 || !onlyUsedBy(reshape.output[0]!, user)) return undefined;
    const shape = int64Values(initializers.get(reshape.input[1] ?? ''));
    if (shape === undefined || shape.length !== 4 || shape[0] !== 0 || !(shape[1] === 0 || shape[1] === -1) || !(shape[2]! > 0 && shape[3]! > 0)) return undefined;
    return { input: reshape.input[0]!, heads: shape[2]!, headDim: shape[3]! };
  };
  /** `Transpose(Reshape(x, heads split), perm)` used only by `user`. */
  const headsView = (name: string | undefined, perm: number[], user: NodeMessage): { nodes: NodeMessage[]; input: string; heads: number; headDim: number } | undefined => {
    const transpose = name === undefined ? undefined : producer.get(name);
    if (!plain(transpose, 'Transpose') || !sameInts(intsAttribute(transpose, 'perm'), perm) || !onlyUsedBy(transpose.output[0]!, user)) return undefined;
    const reshape = producer.get(transpose.input[0]!);
    const split = splitHeads(reshape, transpose);
    return split === undefined ? undefined : { nodes: [reshape!, transpose], ...split };
  };
  /** The axes of an Unsqueeze (input in opset ≥ 13, attribute before). */
  const unsqueezeAxes = (node: NodeMessage): number[] | undefined => (defaultOpset >= 13 ? int64Values(initializers.get(node.input[1] ?? '')) : intsAttribute(node, 'axes'));

  /**
   * `(1 − float(M)) · c` broadcast as [batch, 1, 1, seq] from a 2-D graph input M: M and c, or why not.
   * Walks back from the added bias through Unsqueeze, Mul by c, Sub from 1 and Cast to float.
   */
  const maskOf = (bias: string): { input: string; filter: number } | string => {
    const chain: NodeMessage[] = [];
    let value = bias;
    for (let node = producer.get(value); node !== undefined; node = producer.get(value)) {
      if (chain.length > 8) return 'mask: chain too long';
      chain.unshift(node);
      const op = (node.domain ?? '') === '' ? node.op_type : `${node.domain}:${node.op_type}`;
      if (op === 'Unsqueeze' || op === 'Cast') value = node.input[0]!;
      else if (op === 'Mul') {
        const k = scalarValue(initializers, node.input[1]) !== undefined ? 0 : 1;
        value = node.input[k]!;
      } else if (op === 'Sub') value = node.input[1]!;
      else return `mask: ${node.op_type} in the mask bias`;
    }
    const source = graphInputs.get(value);
    if (source === undefined) return 'mask: not computed from a graph input';
    const tensorType = source.type?.tensor_type;
    const rank = tensorType?.shape?.dim?.length;
    const elemType = tensorType?.elem_type;
    // int64, int32 or bool: the attention mask
    if (rank !== 2 || !(elemType === 7 || elemType === 6 || elemType === 9)) return 'mask: the source input is not a 2-D integer tensor';
    // Forward: Cast to float, then Sub from 1, then Mul by c, Unsqueezes anywhere; axes end as [M0, 1, 1, M1].
    let layout: ('m' | 'new')[] = ['m', 'm'];
    let stage = 0; // 0: integer mask, 1: float mask, 2: 1 − mask, 3: (1 − mask)·c
    let filter = Number.NaN;
    for (const node of chain) {
      if (node.op_type === 'Unsqueeze') {
        const axes = unsqueezeAxes(node);
        if (axes === undefined) return 'mask: Unsqueeze axes not constant';
        const outRank = layout.length + axes.length;
        const normalized = axes.map((a) => (a < 0 ? a + outRank : a)).sort((a, b) => a - b);
        if (new Set(normalized).size !== normalized.length || normalized.some((a) => a < 0 || a >= outRank)) return 'mask: bad Unsqueeze axes';
        const next: ('m' | 'new')[] = [];
        let from = 0;
        for (let i = 0; i < outRank; i++) next.push(normalized.includes(i) ? 'new' : layout[from++]!);
        layout = next;
      } else if (node.op_type === 'Cast') {
        if (stage !== 0 || intAttribute(node, 'to', -1) !== 1) return 'mask: Cast is not the first step, or not to float';
        stage = 1;
      } else if (node.op_type === 'Sub') {
        if (stage !== 1 || scalarValue(initializers, node.input[0]) !== 1) return 'mask: not 1 − mask';
        stage = 2;
      } else {
        const k = scalarValue(initializers, node.input[1]) !== undefined ? 1 : 0;
        const c = scalarValue(initializers, node.input[k]);
        if (stage !== 2 || c === undefined || !Number.isFinite(c) || !(c < 0)) return 'mask: not (1 − mask) · c with a finite c < 0';
        filter = c;
        stage = 3;
      }
    }
    if (stage !== 3) return 'mask: not (1 − mask) · c';
    if (layout.join() !== 'm,new,new,m') return 'mask: not broadcast as [batch, 1, 1, seq]';
    // Every intermediate of the chain feeds only the chain or attention score adds (shared by the layers).
    return { input: value, filter };
  };

  for (const softmax of graph.node) {
    if (!plain(softmax, 'Softmax')) continue;
    const axisAttribute = softmax.attribute.find((a) => a.name === 'axis');
    const axis = axisAttribute === undefined ? (defaultOpset >= 13 ? -1 : 1) : intAttribute(softmax, 'axis', 0);
    if (!(axis === -1 || axis === 3)) {
      skipped.push(`${softmax.name}: Softmax over axis ${axis}`);
      continue;
    }
    const why = (reason: string) => skipped.push(`${softmax.name || 'Softmax'}: ${reason}`);
    // Context: MatMul(probs, v4) → Transpose [0,2,1,3] → Reshape [0, 0, hidden].
    const [contextProduct] = consumers.get(softmax.output[0]!) ?? [];
    if (!plain(contextProduct, 'MatMul') || contextProduct.input[0] !== softmax.output[0] || !onlyUsedBy(softmax.output[0]!, contextProduct)) {
      why('probabilities do not feed one MatMul');
      continue;
    }
    const [contextTranspose] = consumers.get(contextProduct.output[0]!) ?? [];
    if (!plain(contextTranspose, 'Transpose') || !sameInts(intsAttribute(contextTranspose, 'perm'), [0, 2, 1, 3]) || !onlyUsedBy(contextProduct.output[0]!, contextTranspose)) {
      why('context is not transposed back to [batch, seq, heads, headDim]');
      continue;
    }
    const [merge] = consumers.get(contextTranspose.output[0]!) ?? [];
    const mergeShape = merge === undefined ? undefined : int64Values(initializers.get(merge.input[1] ?? ''));
    if (!plain(merge, 'Reshape') || !onlyUsedBy(contextTranspose.output[0]!, merge) || intAttribute(merge, 'allowzero', 0) !== 0 || mergeShape === undefined || mergeShape.length !== 3 || mergeShape[0] !== 0 || !(mergeShape[1] === 0 || mergeShape[1] === -1)) {
      why('heads are not merged by Reshape [0, 0, hidden]');
      continue;
    }
    const v = headsView(contextProduct.input[1], [0, 2, 1, 3], contextProduct);
    if (v === undefined) {
      why('values are not Transpose(Reshape(V, [0, 0, heads, headDim]))');
      continue;
    }
    // Scores: optional mask add, scale, Q·Kᵀ.
    const pattern: NodeMessage[] = [softmax, contextProduct, contextTranspose, merge, ...v.nodes];
    let scoresName = softmax.input[0]!;
    let scoresUser: NodeMessage = softmax;
    let maskInput: { input: string; filter: number } | undefined;
    const maskAdd = producer.get(scoresName);
    if (plain(maskAdd, 'Add')) {
      if (!onlyUsedBy(scoresName, softmax)) {
        why('masked scores used elsewhere');
        continue;
      }
      let found: { input: string; filter: number } | string = 'mask: no side is a mask bias';
      let side = -1;
      for (const k of [1, 0]) {
        const candidate = maskOf(maskAdd.input[k]!);
        if (typeof candidate !== 'string') {
          found = candidate;
          side = k;
          break;
        }
        if (k === 1) found = candidate;
      }
      if (typeof found === 'string') {
        why(found);
        continue;
      }
      maskInput = found;
      pattern.push(maskAdd);
      scoresName = maskAdd.input[1 - side]!;
      scoresUser = maskAdd;
    }
    let scale = 1;
    let product = producer.get(scoresName);
    if (!onlyUsedBy(scoresName, scoresUser)) {
      why('scores used elsewhere');
      continue;
    }
    if (plain(product, 'Mul') || plain(product, 'Div')) {
      const k = scalarValue(initializers, product.input[1]) !== undefined ? 1 : product.op_type === 'Mul' && scalarValue(initializers, product.input[0]) !== undefined ? 0 : -1;
      const c = k === -1 ? undefined : scalarValue(initializers, product.input[k]);
      if (c === undefined || !Number.isFinite(c) || c === 0) {
        why('scores scaled by something other than a constant');
        continue;
      }
      scale = product.op_type === 'Mul' ? c : 1 / c;
      const raw = product.input[1 - k]!;
      pattern.push(product);
      const scaleNode = product;
      product = producer.get(raw);
      if (!onlyUsedBy(raw, scaleNode)) {
        why('unscaled scores used elsewhere');
        continue;
      }
    }
    let transB = false;
    if (product !== undefined && product.op_type === 'FusedMatMul' && product.domain === MICROSOFT) {
      if (intAttribute(product, 'transA', 0) !== 0 || intAttribute(product, 'transBatchA', 0) !== 0 || intAttribute(product, 'transBatchB', 0) !== 0) {
        why('FusedMatMul with transposed batches or A');
        continue;
      }
      transB = intAttribute(product, 'transB', 0) === 1;
      scale *= product.attribute.find((a) => a.name === 'alpha')?.f ?? 1;
    } else if (!plain(product, 'MatMul')) {
      why('scores are not a MatMul of queries and keys');
      continue;
    }
    // MultiHeadAttention reads scale 0 as "the default 1/√headDim".
    if (!Number.isFinite(scale) || scale === 0) {
      why('scores scaled by 0 or a non-finite factor');
      continue;
    }
    pattern.push(product);
    const q = headsView(product.input[0], [0, 2, 1, 3], product);
    const k = headsView(product.input[1], transB ? [0, 2, 1, 3] : [0, 2, 3, 1], product);
    if (q === undefined || k === undefined) {
      why('queries or keys are not Transpose(Reshape(x, [0, 0, heads, headDim]))');
      continue;
    }
    const heads = q.heads;
    const headDim = q.headDim;
    if (k.heads !== heads || v.heads !== heads || k.headDim !== headDim || v.headDim !== headDim || mergeShape[2] !== heads * headDim) {
      why('head counts or sizes differ between queries, keys, values and the merged output');
      continue;
    }
    pattern.push(...q.nodes, ...k.nodes);
    if (pattern.some((node) => removed.has(node))) {
      why('overlaps another fused pattern');
      continue;
    }

    let mask = '';
    if (maskInput !== undefined) {
      const elemType = graphInputs.get(maskInput.input)?.type?.tensor_type?.elem_type;
      if (elemType === 6) mask = maskInput.input;
      else {
        let cast = maskCasts.get(maskInput.input);
        if (cast === undefined) {
          cast = { name: `pref_fused_attention_mask_${maskCasts.size}`, op_type: 'Cast', domain: '', input: [maskInput.input], output: [`${maskInput.input}_int32_pref`], attribute: [{ name: 'to', type: 2, i: 6 }] };
          maskCasts.set(maskInput.input, cast);
        }
        mask = cast.output[0]!;
      }
    }
    const attributes = [
      { name: 'num_heads', type: 2, i: heads },
      { name: 'scale', type: 1, f: scale },
      ...(maskInput === undefined ? [] : [{ name: 'mask_filter_value', type: 1, f: maskInput.filter }]),
    ];
    const fusedNode: NodeMessage = {
      name: `pref_fused_MultiHeadAttention_${fused}`,
      op_type: 'MultiHeadAttention',
      domain: MICROSOFT,
      input: mask === '' ? [q.input, k.input, v.input] : [q.input, k.input, v.input, '', mask],
      output: [merge.output[0]!],
      attribute: attributes,
    };
    for (const node of pattern) removed.add(node);
    replacement.set(merge, fusedNode);
    fused++;
  }

  if (fused > 0) {
    const nodes: NodeMessage[] = [...maskCasts.values()];
    for (const node of graph.node) {
      const fusedNode = replacement.get(node);
      if (fusedNode !== undefined) nodes.push(fusedNode);
      else if (!removed.has(node)) nodes.push(node);
    }
    graph.node = removeDeadNodes(nodes, graphOutputs);
  }
  return { fused, skipped };
}

/** Drops nodes none of whose outputs is used (the mask bias chains that the fused nodes replaced). */
function removeDeadNodes(nodes: NodeMessage[], graphOutputs: Set<string>): NodeMessage[] {
  let current = nodes;
  for (;;) {
    const used = new Set([...current.flatMap((node) => node.input), ...graphOutputs]);
    const next = current.filter((node) => node.output.some((o) => o !== '' && used.has(o)));
    if (next.length === current.length) return current;
    current = next;
  }
}
