import { closeSync, existsSync, openSync, readSync, realpathSync } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { locateConfined, readConfinedText, relativePathProblem } from '@pref/io';
import { ModelFileError } from './errors';

/**
 * Size and count limits applied to a model folder's files before anything is allocated in
 * proportion to what they declare. The defaults sit well above every published model we know of
 * (the largest tokenizer.json, Gemma 3's, is 33 MB with 262k entries; chat templates are under 50 kB).
 */
export interface ModelFileLimits {
  /** Largest config.json / tokenizer_config.json / other metadata JSON, in bytes. Default: 16 MiB. */
  metadataBytes: number;
  /** Largest tokenizer.json, in bytes. Default: 128 MiB. */
  tokenizerBytes: number;
  /** Largest chat_template.jinja (or tokenizer_config `chat_template` string), in bytes. Default: 1 MiB. */
  chatTemplateBytes: number;
  /** Longest single token (vocabulary entry, merge side, added or special token), in characters. Default: 4096. */
  tokenChars: number;
  /** Most added tokens. Default: 1,048,576. */
  addedTokens: number;
  /** Characters of all added tokens together (they are compiled into one matcher). Default: 1,048,576. */
  addedTokenChars: number;
  /** Most vocabulary entries (and merges). Default: 4,194,304. */
  vocabEntries: number;
  /** Largest `num_labels` / `id2label` size. Default: 65,536. */
  labels: number;
}

/** The default {@link ModelFileLimits}. */
export const MODEL_FILE_LIMITS: Readonly<ModelFileLimits> = Object.freeze({
  metadataBytes: 16 * 2 ** 20,
  tokenizerBytes: 128 * 2 ** 20,
  chatTemplateBytes: 2 ** 20,
  tokenChars: 4096,
  addedTokens: 2 ** 20,
  addedTokenChars: 2 ** 20,
  vocabEntries: 2 ** 22,
  labels: 65536,
});

/**
 * A model folder and the root every file read from it must stay inside after symlinks are resolved:
 * the folder itself, or, for a Hugging Face cache snapshot (`models--org--name/snapshots/<sha>`),
 * the repository's cache folder, whose `blobs/` the snapshot's symlinks point into.
 */
export interface ModelFolder {
  dir: string;
  root: string;
}

/** Resolves the confinement root of a model folder (see {@link ModelFolder}). */
export function modelFolder(dir: string): ModelFolder {
  let real: string;
  try {
    real = realpathSync(dir);
  } catch (cause) {
    throw new ModelFileError({ file: dir, message: `cannot open the model folder (${(cause as NodeJS.ErrnoException).code ?? 'error'})`, cause });
  }
  const snapshots = dirname(real);
  const storage = dirname(snapshots);
  const isSnapshot = basename(snapshots) === 'snapshots' && /^(models|datasets)--/.test(basename(storage));
  return { dir, root: isSnapshot ? storage : real };
}

/**
 * Checks that a path taken from metadata (a model file option, an ONNX external-data location, a
 * Hub file name) is a plain relative path (see `relativePathProblem` in @pref/io: not absolute, no
 * `..` or `.` segment, no empty segment, no backslash, no control character). Returns it unchanged.
 */
export function checkRelativePath(path: string, what: { file: string; field?: string }): string {
  const problem = relativePathProblem(path);
  if (problem !== undefined) {
    throw new ModelFileError({ ...what, message: `the path ${JSON.stringify(String(path).slice(0, 200))} ${problem}; only plain relative paths inside the model folder are accepted` });
  }
  return path;
}

/**
 * The path of `relativePath` inside the folder when it exists, after checking that it resolves
 * (symlinks followed) inside the folder's root and is a regular file; `undefined` when it does not exist.
 */
export function modelFilePath(folder: ModelFolder, relativePath: string, what = relativePath): string | undefined {
  checkRelativePath(relativePath, { file: join(folder.dir, relativePath), field: what === relativePath ? undefined : what });
  const location = locateConfined(folder.root, folder.dir, relativePath, 'model folder');
  if (location.kind === 'missing') return undefined;
  if (location.kind === 'refused') throw new ModelFileError({ file: location.path, message: location.reason });
  if (!location.isFile) throw new ModelFileError({ file: location.path, message: 'is not a regular file' });
  return location.path;
}

/**
 * Reads a text file of a model folder (confined as {@link modelFilePath}), refusing files over
 * `maxBytes` before reading them. `undefined` when the file does not exist.
 */
export function readModelText(folder: ModelFolder, relativePath: string, maxBytes: number): string | undefined {
  checkRelativePath(relativePath, { file: join(folder.dir, relativePath) });
  const read = readConfinedText(folder.root, folder.dir, relativePath, { maxBytes, folderName: 'model folder' });
  if (read.kind === 'missing') return undefined;
  if (read.kind === 'refused') throw new ModelFileError({ file: read.path, message: read.reason });
  return read.text;
}

/**
 * Offset of the first JSON syntax error in `text` (`text.length` for an unexpected end, -1 when the
 * text is valid JSON), found by
 * an iterative scan: V8's JSON.parse messages quote the input instead of giving a position, and
 * the input may be a private file behind a symlink.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const n = text.length;
  const skip = (): void => {
    while (i < n && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++;
  };
  // Stack of open containers: '{' expecting a key (or '}'), ':' / ',' states kept implicitly.
  const stack: ('{' | '[')[] = [];
  let expectValue = true;
  const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/;
  const stringEnd = (): number => {
    let j = i + 1;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === 34) return j + 1;
      if (c < 32) return -1;
      if (c === 92) {
        const e = text[j + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) return -1;
          j += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) return -1;
        j += 2;
        continue;
      }
      j++;
    }
    return -2;
  };
  skip();
  while (i < n) {
    if (expectValue) {
      const c = text[i]!;
      if (c === '{' || c === '[') {
        stack.push(c);
        i++;
        skip();
        if (text[i] === (c === '{' ? '}' : ']')) {
          stack.pop();
          i++;
          expectValue = false;
        } else if (c === '{') {
          if (text[i] !== '"') return i;
          const end = stringEnd();
          if (end < 0) return end === -2 ? n : i;
          i = end;
          skip();
          if (text[i] !== ':') return i;
          i++;
        }
      } else if (c === '"') {
        const end = stringEnd();
        if (end < 0) return end === -2 ? n : i;
        i = end;
        expectValue = false;
      } else {
        const match = literal.exec(text.slice(i, i + 400));
        if (match === null) return i;
        i += match[0].length;
        expectValue = false;
      }
    } else {
      const top = stack[stack.length - 1];
      const c = text[i]!;
      if (top === undefined) return i;
      if (c === ',') {
        i++;
        skip();
        if (top === '{') {
          if (text[i] !== '"') return i;
          const end = stringEnd();
          if (end < 0) return end === -2 ? n : i;
          i = end;
          skip();
          if (text[i] !== ':') return i;
          i++;
        }
        expectValue = true;
      } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
        stack.pop();
        i++;
      } else {
        return i;
      }
    }
    skip();
  }
  return stack.length === 0 && !expectValue ? -1 : n;
}

function jsonErrorLocation(text: string): string {
  const position = jsonErrorOffset(text);
  if (position < 0) return '';
  if (position >= text.length) return ' (unexpected end)';
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return ` (at line ${line}, column ${position - lineStart + 1})`;
}

/**
 * Reads a JSON object from a model folder (confined, size-checked); `undefined` when the file does
 * not exist. An error names the file and where parsing failed, never its contents.
 */
export function readModelJson(folder: ModelFolder, relativePath: string, maxBytes: number): Record<string, unknown> | undefined {
  const text = readModelText(folder, relativePath, maxBytes);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ModelFileError({ file: join(folder.dir, relativePath), message: `is not valid JSON${jsonErrorLocation(text)}` });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ModelFileError({ file: join(folder.dir, relativePath), message: `must hold a JSON object, found ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` });
  }
  return value as Record<string, unknown>;
}

/** A token of tokenizer_config.json as text: a string, or the `content` of an added-token object. */
export function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') return (value as { content: string }).content;
  return undefined;
}

/**
 * Checks the fields of a parsed tokenizer.json whose size decides what the tokenizer allocates
 * (added tokens, vocabulary, merges) before the tokenizer is built.
 */
export function checkTokenizerJson(json: Record<string, unknown>, file: string, limits: ModelFileLimits = MODEL_FILE_LIMITS): void {
  const fail = (field: string, message: string): never => {
    throw new ModelFileError({ file, field, message });
  };
  const added = json.added_tokens;
  if (added !== undefined && added !== null) {
    if (!Array.isArray(added)) fail('added_tokens', 'must be an array');
    const list = added as unknown[];
    if (list.length > limits.addedTokens) fail('added_tokens', `has ${list.length} entries, over the limit of ${limits.addedTokens}`);
    let total = 0;
    list.forEach((entry, i) => {
      const content = (entry as { content?: unknown } | null)?.content;
      if (typeof content !== 'string') fail(`added_tokens[${i}].content`, 'must be a string');
      const length = (content as string).length;
      if (length > limits.tokenChars) fail(`added_tokens[${i}].content`, `is ${length} characters long, over the limit of ${limits.tokenChars} per token`);
      total += length;
    });
    if (total > limits.addedTokenChars) fail('added_tokens', `hold ${total} characters together, over the limit of ${limits.addedTokenChars}`);
  }
  const model = json.model as Record<string, unknown> | undefined;
  if (typeof model !== 'object' || model === null) fail('model', 'is missing');
  const vocab = (model as Record<string, unknown>).vocab;
  if (vocab !== undefined && vocab !== null) {
    const entries: unknown[] = Array.isArray(vocab) ? vocab : typeof vocab === 'object' ? Object.keys(vocab) : fail('model.vocab', 'must be an object or an array');
    if (entries.length > limits.vocabEntries) fail('model.vocab', `has ${entries.length} entries, over the limit of ${limits.vocabEntries}`);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      // Unigram vocabularies are [piece, score] pairs; WordPiece/BPE ones are { token: id } objects.
      const piece = Array.isArray(entry) ? entry[0] : entry;
      if (typeof piece === 'string' && piece.length > limits.tokenChars) {
        fail(`model.vocab[${i}]`, `is ${piece.length} characters long, over the limit of ${limits.tokenChars} per token`);
      }
    }
  }
  const merges = (model as Record<string, unknown>).merges;
  if (Array.isArray(merges)) {
    if (merges.length > limits.vocabEntries) fail('model.merges', `has ${merges.length} entries, over the limit of ${limits.vocabEntries}`);
    for (let i = 0; i < merges.length; i++) {
      const merge = merges[i];
      const length = typeof merge === 'string' ? merge.length : Array.isArray(merge) ? String(merge[0]).length + String(merge[1]).length : 0;
      if (length > 2 * limits.tokenChars + 1) fail(`model.merges[${i}]`, `is ${length} characters long, over the limit of ${2 * limits.tokenChars + 1}`);
    }
  }
}

/** Checks tokenizer_config.json fields that become tokens or templates. */
export function checkTokenizerConfig(config: Record<string, unknown>, file: string, limits: ModelFileLimits = MODEL_FILE_LIMITS): void {
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'cls_token', 'mask_token']) {
    const text = tokenText(config[key]);
    if (text !== undefined && text.length > limits.tokenChars) {
      throw new ModelFileError({ file, field: key, message: `is ${text.length} characters long, over the limit of ${limits.tokenChars} per token` });
    }
  }
  const decoder = config.added_tokens_decoder;
  if (typeof decoder === 'object' && decoder !== null) {
    const keys = Object.keys(decoder);
    if (keys.length > limits.addedTokens) throw new ModelFileError({ file, field: 'added_tokens_decoder', message: `has ${keys.length} entries, over the limit of ${limits.addedTokens}` });
  }
}

/**
 * Reads `num_labels` and `id2label` from config.json, refusing sizes that would allocate without
 * bound (`num_labels: 1e12`) or that do not describe labels.
 */
export function configLabels(config: Record<string, unknown>, file: string, limits: ModelFileLimits = MODEL_FILE_LIMITS): string[] {
  const id2label = config.id2label;
  let names = new Map<string, string>();
  if (id2label !== undefined && id2label !== null) {
    if (typeof id2label !== 'object' || Array.isArray(id2label)) throw new ModelFileError({ file, field: 'id2label', message: 'must be an object of index → label name' });
    const keys = Object.keys(id2label);
    if (keys.length > limits.labels) throw new ModelFileError({ file, field: 'id2label', message: `has ${keys.length} entries, over the limit of ${limits.labels}` });
    names = new Map(Object.entries(id2label as Record<string, unknown>).map(([key, value]) => [key, String(value)]));
  }
  const declared = config.num_labels;
  let count: number;
  if (declared === undefined || declared === null) {
    count = Math.max(names.size, 1);
  } else if (typeof declared !== 'number' || !Number.isInteger(declared) || declared < 1 || declared > limits.labels) {
    throw new ModelFileError({ file, field: 'num_labels', message: `must be an integer from 1 to ${limits.labels}, found ${JSON.stringify(declared)?.slice(0, 40)}` });
  } else {
    count = declared;
  }
  return Array.from({ length: count }, (_, i) => names.get(String(i)) ?? `LABEL_${i}`);
}

/** ONNX external-data entries: StringStringEntryProto { key: "location", value: <path> }. */
const LOCATION_KEY = Buffer.from([0x0a, 0x08, ...Buffer.from('location'), 0x12]);

/**
 * The external-data locations an ONNX file names, found by scanning its bytes for the
 * `key: "location"` entries of TensorProto.external_data (no full protobuf decode, so a 2 GB graph
 * costs one streaming read).
 */
export function onnxExternalDataLocations(modelPath: string): string[] {
  const found = new Set<string>();
  const fd = openSync(modelPath, 'r');
  try {
    const chunk = Buffer.alloc(4 * 2 ** 20);
    const overlap = LOCATION_KEY.length + 2 + 4096;
    let carry = Buffer.alloc(0);
    let position = 0;
    while (true) {
      const n = readSync(fd, chunk, 0, chunk.length, position);
      if (n === 0) break;
      position += n;
      const window = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let at = window.indexOf(LOCATION_KEY);
      let lastEnd = 0;
      while (at !== -1) {
        let cursor = at + LOCATION_KEY.length;
        let length = 0;
        let shift = 0;
        while (cursor < window.length && shift < 28) {
          const byte = window[cursor++]!;
          length |= (byte & 0x7f) << shift;
          shift += 7;
          if ((byte & 0x80) === 0) break;
        }
        if (cursor + length <= window.length) {
          found.add(window.subarray(cursor, cursor + length).toString('utf8'));
          lastEnd = cursor + length;
        } else if (window.length - at > overlap) {
          lastEnd = at + 1; // not a real entry (length runs past a full window)
        } else {
          break; // continue in the next window
        }
        at = window.indexOf(LOCATION_KEY, Math.max(lastEnd, at + 1));
      }
      const keepFrom = Math.max(lastEnd, window.length - overlap);
      carry = Buffer.from(window.subarray(keepFrom));
    }
  } finally {
    closeSync(fd);
  }
  return [...found];
}

/**
 * Checks that every external-data file an ONNX model names is a plain relative path that resolves
 * inside the model folder (onnxruntime would otherwise read it from wherever it points).
 */
export function checkOnnxExternalData(folder: ModelFolder, modelPath: string): void {
  const modelDir = dirname(modelPath);
  for (const location of onnxExternalDataLocations(modelPath)) {
    checkRelativePath(location, { file: modelPath, field: 'external_data.location' });
    const relativeToFolder = relative(folder.dir, join(modelDir, location)).split(sep).join('/');
    if (!existsSync(join(modelDir, location))) continue; // onnxruntime reports the missing file itself
    modelFilePath(folder, relativeToFolder, 'external_data.location');
  }
}
