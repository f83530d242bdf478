import { describe, expect, it } from 'vitest';
import { flattenConversation, parseHhTranscript } from './flatten-conversation';
import { applyMapping, detectSchema, recordToPair } from './schema';

const where = { file: 'mem', line: 1 };

describe('detectSchema', () => {
  it('names every supported layout', () => {
    expect(detectSchema({ id: 'a', source: 's', system: 'x', prompt: 'p', chosen: 'c', rejected: 'r' })).toBe('prompt-chosen-rejected');
    expect(detectSchema({ chosen: [{ role: 'user', content: 'a' }], rejected: [{ role: 'user', content: 'b' }] })).toBe('chat-messages');
    expect(detectSchema({ prompt: 'p', prompt_id: 'x', chosen: [], rejected: [], messages: [] })).toBe('chat-messages');
    expect(detectSchema({ chosen: '\n\nHuman: a\n\nAssistant: b', rejected: '\n\nHuman: a\n\nAssistant: c' })).toBe('hh-transcript');
    expect(detectSchema({ question: 'q', response_j: 'a', response_k: 'b' })).toBe('question-response');
    expect(detectSchema({ prompt: { text: 'q' }, generations: [] })).toBe('generations');
    expect(detectSchema({ text: 't', label: 1 })).toBe('text-label');
    expect(detectSchema({ chosen: 'a', rejected: 'b' })).toBeUndefined();
  });
});

describe('recordToPair', () => {
  it('truthy-dpo rows keep every column', () => {
    const row = { id: 'truthy-1', source: 'truthy', system: 'You are an unbiased assistant.', prompt: 'Are you conscious?', chosen: 'No.', rejected: 'Yes, deeply.' };
    expect(recordToPair(row, 'prompt-chosen-rejected', where)).toEqual(row);
  });

  it('Skywork chat rows: the shared prefix is the prompt, a leading system turn becomes system', () => {
    const system = { role: 'system', content: 'Be brief.' };
    const user = { role: 'user', content: 'Capital of France?' };
    const pair = recordToPair({ chosen: [system, user, { role: 'assistant', content: 'Paris.' }], rejected: [system, user, { role: 'assistant', content: 'Lyon.' }] }, 'chat-messages', where);
    expect(pair).toEqual({
      prompt: 'Capital of France?',
      chosen: 'Paris.',
      rejected: 'Lyon.',
      system: 'Be brief.',
      conversation: { prompt: [system, user], chosen: [{ role: 'assistant', content: 'Paris.' }], rejected: [{ role: 'assistant', content: 'Lyon.' }] },
    });
  });

  it('UltraFeedback-binarized rows keep prompt_id, messages and scores', () => {
    const user = { role: 'user', content: 'Write a haiku' };
    const row = {
      prompt: 'Write a haiku',
      prompt_id: 'abc',
      chosen: [user, { role: 'assistant', content: 'Old pond / frog' }],
      rejected: [user, { role: 'assistant', content: 'No.' }],
      messages: [user, { role: 'assistant', content: 'Old pond / frog' }],
      score_chosen: 8.5,
      score_rejected: 3,
    };
    const pair = recordToPair(row, 'chat-messages', where);
    expect(pair).toMatchObject({ prompt: 'Write a haiku', chosen: 'Old pond / frog', rejected: 'No.', prompt_id: 'abc', score_chosen: 8.5, score_rejected: 3, messages: row.messages });
    expect(pair.prompt_original).toBeUndefined();
  });

  it('TRL conversational rows (prompt list + assistant-only responses)', () => {
    const pair = recordToPair({ prompt: [{ role: 'user', content: 'Hi' }], chosen: [{ role: 'assistant', content: 'Hello' }], rejected: [{ role: 'assistant', content: 'Go' }] }, 'chat-messages', where);
    expect([pair.prompt, pair.chosen, pair.rejected]).toEqual(['Hi', 'Hello', 'Go']);
    expect(pair.conversation?.prompt).toEqual([{ role: 'user', content: 'Hi' }]);
  });

  it('Anthropic HH: prompt is the common prefix up to the last Assistant turn; prompt + chosen is the transcript', () => {
    const chosen = '\n\nHuman: What is a dog?\n\nAssistant: An animal.\n\nHuman: Which one?\n\nAssistant: A domesticated canine.';
    const rejected = '\n\nHuman: What is a dog?\n\nAssistant: An animal.\n\nHuman: Which one?\n\nAssistant: A cat.';
    const pair = recordToPair({ chosen, rejected }, 'hh-transcript', where);
    expect(pair.prompt).toBe('\n\nHuman: What is a dog?\n\nAssistant: An animal.\n\nHuman: Which one?\n\nAssistant:');
    expect(pair.chosen).toBe(' A domesticated canine.');
    expect(pair.rejected).toBe(' A cat.');
    expect(pair.prompt + pair.chosen).toBe(chosen);
    expect(pair.conversation).toEqual({
      prompt: [
        { role: 'user', content: 'What is a dog?' },
        { role: 'assistant', content: 'An animal.' },
        { role: 'user', content: 'Which one?' },
      ],
      chosen: [{ role: 'assistant', content: 'A domesticated canine.' }],
      rejected: [{ role: 'assistant', content: 'A cat.' }],
    });
  });

  it('HH where both answers start alike cuts back to the Assistant marker', () => {
    const pair = recordToPair({ chosen: '\n\nHuman: Hi\n\nAssistant: I am fine', rejected: '\n\nHuman: Hi\n\nAssistant: I am bad' }, 'hh-transcript', where);
    expect([pair.prompt, pair.chosen, pair.rejected]).toEqual(['\n\nHuman: Hi\n\nAssistant:', ' I am fine', ' I am bad']);
  });

  it('D2PO question/response_j/response_k keeps magnitude', () => {
    const pair = recordToPair({ qid: 5, question: 'Q?', response_j: 'good', response_k: 'bad', magnitude: 2.5 }, 'question-response', where);
    expect(pair).toEqual({ prompt: 'Q?', chosen: 'good', rejected: 'bad', qid: 5, magnitude: 2.5 });
  });

  it('generations: chosen is the highest score, rejected the lowest', () => {
    const row = { prompt: { text: 'Q', lang: 'en' }, generations: [{ text: 'mid', score: 0.5 }, { text: 'best', score: 0.9 }, { text: 'worst', score: -1 }] };
    const pair = recordToPair(row, 'generations', where);
    expect(pair).toMatchObject({ prompt: 'Q', chosen: 'best', rejected: 'worst', chosen_index: 1, rejected_index: 2, prompt_object: row.prompt, generations: row.generations });
    const byReward = recordToPair({ prompt: 'Q', generations: [{ text: 'a', reward: 1, len: 100 }, { text: 'b', reward: 2, len: 1 }] }, 'generations', where);
    expect([byReward.chosen, byReward.rejected]).toEqual(['b', 'a']);
    const mapped = recordToPair({ prompt: 'Q', generations: [{ text: 'a', reward: 1, len: 100 }, { text: 'b', reward: 2, len: 1 }] }, 'generations', where, { score: 'len' });
    expect([mapped.chosen, mapped.rejected]).toEqual(['a', 'b']);
  });

  it('field mappings move columns (dotted paths too)', () => {
    const record = applyMapping({ q: { body: 'Q' }, good: 'g', bad: 'b', uid: 9 }, { prompt: 'q.body', chosen: 'good', rejected: 'bad', id: 'uid' });
    expect(detectSchema(record)).toBe('prompt-chosen-rejected');
    expect(recordToPair(record, 'prompt-chosen-rejected', where)).toEqual({ id: '9', prompt: 'Q', chosen: 'g', rejected: 'b', q: { body: 'Q' } });
  });
});

describe('flattenConversation', () => {
  const turns = [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello' },
  ];
  it('renders plain, role-prefixed and HH text', () => {
    expect(flattenConversation([turns[0]!])).toBe('Hi');
    expect(flattenConversation(turns)).toBe('user: Hi\n\nassistant: Hello');
    expect(flattenConversation([turns[0]!], { style: 'role-prefixed' })).toBe('user: Hi');
    expect(flattenConversation([turns[0]!], { style: 'hh', addGenerationPrompt: true })).toBe('\n\nHuman: Hi\n\nAssistant:');
  });
  it('HH flatten and parse are inverse on trimmed turns', () => {
    expect(parseHhTranscript(flattenConversation(turns, { style: 'hh' }))).toEqual(turns);
  });
});
