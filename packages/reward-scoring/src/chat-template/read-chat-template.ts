import { ChatTemplateError } from '../errors';
import { MODEL_FILE_LIMITS, readModelText, type ModelFileLimits, type ModelFolder } from '../model-files';
import { join } from 'node:path';

/** A chat template found in a model folder, and where it was found. */
export interface ChatTemplateSource {
  source: string;
  /** `<dir>/chat_template.jinja` or `<dir>/tokenizer_config.json`. */
  origin: string;
}

/**
 * The chat template of a model folder, looked up as transformers >= 4.47 does: `chat_template.jinja`
 * first, then `chat_template` in tokenizer_config.json (a string, or a list of named templates of
 * which `default` is used). `undefined` when there is none. Reads are confined to the folder and
 * size-limited (see {@link ModelFileLimits}).
 */
export function readChatTemplate(
  folder: ModelFolder,
  tokenizerConfig: Record<string, unknown>,
  limits: Pick<ModelFileLimits, 'chatTemplateBytes'> = MODEL_FILE_LIMITS,
): ChatTemplateSource | undefined {
  const file = readModelText(folder, 'chat_template.jinja', limits.chatTemplateBytes);
  if (file !== undefined) return { source: file, origin: join(folder.dir, 'chat_template.jinja') };
  const origin = join(folder.dir, 'tokenizer_config.json');
  const value = tokenizerConfig.chat_template;
  if (value === undefined || value === null) return undefined;
  let source: unknown = value;
  if (Array.isArray(value)) {
    const named = value.find((entry: unknown) => (entry as { name?: unknown } | null)?.name === 'default') as { template?: unknown } | undefined;
    if (named === undefined) return undefined;
    source = named.template;
  }
  if (typeof source !== 'string') {
    throw new ChatTemplateError({ source: origin, code: 'MODEL_LOAD', message: 'field "chat_template" must be a string or a list of { name, template } with a "default" entry' });
  }
  return { source, origin };
}
