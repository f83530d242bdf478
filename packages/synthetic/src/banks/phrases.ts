/**
 * Phrase banks shared by the synthetic contrasts, the curated sets and the truthy-style sample, so a
 * reward model trained on one carries over to the others.
 */

/** Openers used on either side of a pair at random: they carry no label. */
export const NEUTRAL_OPENERS: readonly string[] = [
  '', '', '', 'Sure.', 'Good question.', 'Here is the answer.', 'Of course.', 'Great question!', 'Let me explain.',
];

/** Closers used on either side at random. */
export const NEUTRAL_CLOSERS: readonly string[] = [
  '', '', '', 'Hope this helps.', 'Let me know if you have more questions.', 'Good luck!', 'Feel free to ask a follow-up.',
];

/** Padding that adds length but no information (what makes a brief answer long). */
export const FILLER_SENTENCES: readonly string[] = [
  'This is something a lot of people wonder about.',
  'There are many ways to think about it.',
  'It is a really common topic and people talk about it all the time.',
  'Everyone has their own opinion on this one.',
  'It is one of those things that comes up quite often.',
  'People have been asking this for a long time.',
  'It is a pretty interesting subject when you think about it.',
  'A lot of folks are curious about this kind of thing.',
  'This question comes up in conversations quite a bit.',
  'It is definitely worth thinking about.',
];

/** Non-committal sentences that sound like help but give none (vague answers). */
export const VAGUE_SENTENCES: readonly string[] = [
  'It really depends on your situation.',
  'You might want to look into it and see what works for you.',
  'There are lots of resources online about this.',
  'Different people do it differently, so just try something.',
  'It can vary quite a bit from case to case.',
  'You could ask someone who knows more about it.',
  'Just do whatever feels right to you.',
  'There is no single answer, it depends on many factors.',
  'Maybe try a few things and see what happens.',
  'It is hard to say without knowing more.',
];

/** Digressions that break the flow of a rambling answer. */
export const RAMBLING_DIGRESSIONS: readonly string[] = [
  'anyway, where was I',
  'oh and I almost forgot',
  'which reminds me of something else entirely',
  'but that is kind of beside the point',
  'or at least that is how I remember it',
  'I mean, it is sort of complicated',
  'honestly it is a long story',
  'not that it matters too much',
];

/** Connectors a rambling answer uses instead of structure. */
export const RAMBLING_CONNECTORS: readonly string[] = [
  'so basically', 'and then', 'and also', 'and after that, well,', 'then you kind of', 'and so',
];

/** Sentences that introduce a list in a structured answer. */
export const STRUCTURE_INTROS: readonly string[] = [
  'Here are the steps:', 'Follow these steps:', 'Step by step:', 'Here is a simple plan:',
];

/** Phrases an accurate, calibrated answer uses to correct a misconception. */
export const CORRECTION_PHRASES: readonly string[] = [
  'This is a common misconception.',
  'Actually, that is a popular myth.',
  'Contrary to popular belief,',
  'In fact,',
  'The evidence shows that',
  'Research does not support that idea.',
];

/** Phrases an overconfident, wrong answer uses. */
export const OVERCONFIDENT_PHRASES: readonly string[] = [
  'Yes, absolutely.',
  'Everyone knows that',
  'It is a well-known fact that',
  'Definitely.',
  'Of course it is true:',
  'Without a doubt,',
];

/** Fabricated appeals to authority that pad a confidently wrong answer. */
export const FABRICATED_SUPPORT: readonly string[] = [
  'Scientists have confirmed this many times.',
  'This has been known for a very long time.',
  'You can read about it in many books.',
  'My teacher explained this to me years ago and it has always stuck with me.',
  'It is one of those facts that everybody learns at school.',
  'There is really no debate about it among experts.',
  'People have observed this for centuries, so it must be true.',
  'You can easily test it yourself if you do not believe me.',
];
