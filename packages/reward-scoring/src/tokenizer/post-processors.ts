import { asSpec, checkKeys, TokenizerLoadError, type SpecContext } from './errors';

/** One part of a post-processor template: special token ids, or sequence A or B. */
export type TemplatePart = { kind: 'special'; ids: readonly number[]; typeId: number } | { kind: 'A' | 'B'; typeId: number };

export interface Templates {
  single: TemplatePart[];
  pair: TemplatePart[];
}

/** No post-processor: the sequences as they are (pair type ids: A 0, B 1, as tokenizers' default_process). */
const PLAIN_TEMPLATES: Templates = {
  single: [{ kind: 'A', typeId: 0 }],
  pair: [
    { kind: 'A', typeId: 0 },
    { kind: 'B', typeId: 1 },
  ],
};

function tokenPair(value: unknown, field: string, context: SpecContext): number {
  if (!Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'number') {
    throw new TokenizerLoadError(context.file, field, 'expected ["token", id]');
  }
  return value[1];
}

function templateParts(value: unknown, field: string, context: SpecContext, specials: Map<string, number[]>): TemplatePart[] {
  if (!Array.isArray(value)) throw new TokenizerLoadError(context.file, field, 'expected an array of template pieces');
  return value.map((entry, index): TemplatePart => {
    const piece = asSpec(entry, `${field}[${index}]`, context);
    const special = piece.SpecialToken as { id?: unknown; type_id?: unknown } | undefined;
    const sequence = piece.Sequence as { id?: unknown; type_id?: unknown } | undefined;
    if (special !== undefined) {
      const ids = specials.get(String(special.id));
      if (ids === undefined) throw new TokenizerLoadError(context.file, `${field}[${index}].SpecialToken.id`, `"${String(special.id)}" is not in special_tokens`);
      return { kind: 'special', ids, typeId: Number(special.type_id ?? 0) };
    }
    if (sequence !== undefined && (sequence.id === 'A' || sequence.id === 'B')) return { kind: sequence.id, typeId: Number(sequence.type_id ?? 0) };
    throw new TokenizerLoadError(context.file, `${field}[${index}]`, 'expected {"SpecialToken": …} or {"Sequence": {"id": "A"|"B"}}');
  });
}

/**
 * The templates of tokenizer.json's `post_processor` (TemplateProcessing, BertProcessing,
 * RobertaProcessing; ByteLevel changes only offsets, so it is the plain template; Sequence with at
 * most one templating step).
 */
export function buildTemplates(value: unknown, field: string, context: SpecContext): Templates {
  if (value === null || value === undefined) return PLAIN_TEMPLATES;
  const spec = asSpec(value, field, context);
  switch (spec.type) {
    case 'ByteLevel':
      checkKeys(spec, field, context, ['add_prefix_space', 'trim_offsets', 'use_regex']);
      return PLAIN_TEMPLATES;
    case 'TemplateProcessing': {
      checkKeys(spec, field, context, ['single', 'pair', 'special_tokens']);
      const specials = new Map<string, number[]>();
      const table = asSpec(spec.special_tokens ?? {}, `${field}.special_tokens`, context);
      for (const [name, entry] of Object.entries(table)) {
        const ids = (entry as { ids?: unknown }).ids;
        if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'number')) {
          throw new TokenizerLoadError(context.file, `${field}.special_tokens.${name}.ids`, 'expected an array of ids');
        }
        specials.set(name, ids);
      }
      return {
        single: templateParts(spec.single, `${field}.single`, context, specials),
        pair: templateParts(spec.pair, `${field}.pair`, context, specials),
      };
    }
    case 'BertProcessing':
    case 'RobertaProcessing': {
      checkKeys(spec, field, context, ['sep', 'cls', 'trim_offsets', 'add_prefix_space']);
      const sep = tokenPair(spec.sep, `${field}.sep`, context);
      const cls = tokenPair(spec.cls, `${field}.cls`, context);
      const pairType = spec.type === 'BertProcessing' ? 1 : 0;
      return {
        single: [
          { kind: 'special', ids: [cls], typeId: 0 },
          { kind: 'A', typeId: 0 },
          { kind: 'special', ids: [sep], typeId: 0 },
        ],
        pair: [
          { kind: 'special', ids: [cls], typeId: 0 },
          { kind: 'A', typeId: 0 },
          { kind: 'special', ids: [sep], typeId: 0 },
          ...(spec.type === 'RobertaProcessing' ? [{ kind: 'special' as const, ids: [sep], typeId: 0 }] : []),
          { kind: 'B', typeId: pairType },
          { kind: 'special', ids: [sep], typeId: pairType },
        ],
      };
    }
    case 'Sequence': {
      checkKeys(spec, field, context, ['processors']);
      if (!Array.isArray(spec.processors)) throw new TokenizerLoadError(context.file, `${field}.processors`, 'expected an array');
      const steps = spec.processors.map((entry, index) => buildTemplates(entry, `${field}.processors[${index}]`, context));
      const templating = steps.filter((step) => step !== PLAIN_TEMPLATES);
      if (templating.length > 1) {
        context.unsupported(field, 'a Sequence with more than one special-token post-processor is not reproduced by pref');
      }
      return templating[0] ?? PLAIN_TEMPLATES;
    }
    default:
      context.unsupported(`${field}.type`, `post-processor ${JSON.stringify(spec.type)} is not reproduced by pref`);
      return PLAIN_TEMPLATES;
  }
}
