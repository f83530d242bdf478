import { InvalidArgumentError } from '@pref/core';
import { pick, recordRandom } from './rng';

/**
 * Invented stand-ins for abusive words. They let rectification builders and toxicity classifiers be
 * exercised on text whose "toxic" tokens are known exactly, without shipping real slurs.
 */
export const PLACEHOLDER_TOXIC_WORDS: readonly string[] = ['blorf', 'zagnut', 'snerk', 'gromple', 'twizzock', 'flumox', 'quibnit', 'drazzle'];

const TARGETS = ['neighbour', 'coworker', 'referee', 'driver', 'moderator', 'landlord', 'teammate', 'customer'];
const TOPICS = ['the meeting', 'the parking rules', 'the last match', 'the new policy', 'the delivery', 'the group project', 'the noise', 'the schedule'];
const TOXIC_TEMPLATES = [
  (word: string, target: string, topic: string) => `My ${target} is a total ${word} about ${topic}.`,
  (word: string, target: string, topic: string) => `Only a ${word} like my ${target} would mess up ${topic}.`,
  (word: string, target: string, topic: string) => `Shut up about ${topic}, you ${word} ${target}.`,
  (word: string, target: string, topic: string) => `What a ${word}, that ${target} ruined ${topic} again, ${word}.`,
];
const NEUTRAL_TEMPLATES = [
  (_word: string, target: string, topic: string) => `My ${target} had a different view about ${topic}.`,
  (_word: string, target: string, topic: string) => `I disagree with my ${target} about ${topic}, but we talked it through.`,
  (_word: string, target: string, topic: string) => `Thanks to the ${target} for sorting out ${topic}.`,
  (_word: string, target: string, topic: string) => `The ${target} was frustrated about ${topic}, and so was I.`,
];

/** A labelled text for toxicity-style classifiers and rectification builders. */
export interface ToxicityText {
  id: string;
  text: string;
  /** 1 when the text uses placeholder abuse, 0 otherwise. */
  label: 0 | 1;
  /** The placeholder words the text contains (empty for neutral texts). */
  placeholders: string[];
}

export interface GenerateToxicityTextsOptions {
  n: number;
  /** Default: 0. */
  seed?: number | string;
  /** Probability that a text is toxic-style. Default: 0.5. */
  toxicRate?: number;
  /** Default: 0. */
  startIndex?: number;
}

/**
 * Text/label toxicity-style data. Toxic and neutral texts share targets and topics (a classifier
 * must use the abusive placeholder, not the subject) and have similar lengths.
 */
export function generateToxicityTexts({ n, seed = 0, toxicRate = 0.5, startIndex = 0 }: GenerateToxicityTextsOptions): ToxicityText[] {
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError({ argument: 'n', message: `expected a non-negative integer, got ${n}` });
  if (!(toxicRate >= 0 && toxicRate <= 1)) throw new InvalidArgumentError({ argument: 'toxicRate', message: `expected a number in [0, 1], got ${toxicRate}` });
  const texts: ToxicityText[] = [];
  for (let offset = 0; offset < n; offset++) {
    const index = startIndex + offset;
    const random = recordRandom(seed, 'toxicity', index);
    const toxic = random() < toxicRate;
    const word = pick(random, PLACEHOLDER_TOXIC_WORDS);
    const template = pick(random, toxic ? TOXIC_TEMPLATES : NEUTRAL_TEMPLATES);
    const text = template(word, pick(random, TARGETS), pick(random, TOPICS));
    texts.push({ id: `synthetic-toxicity-${String(seed)}-${index}`, text, label: toxic ? 1 : 0, placeholders: toxic ? [word] : [] });
  }
  return texts;
}
