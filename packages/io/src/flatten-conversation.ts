import type { ChatMessage } from './types';

/** How to render a message list as text. */
export type FlattenStyle = 'plain' | 'hh' | 'role-prefixed';

export interface FlattenOptions {
  /**
   * `plain`: a single message becomes its content; several become `role: content` blocks joined by a
   * blank line. `hh`: Anthropic HH transcript (`\n\nHuman: …\n\nAssistant: …`). `role-prefixed`:
   * always `role: content` blocks. Default: 'plain'.
   */
  style?: FlattenStyle;
  /** Append the opening of the next assistant turn (`\n\nAssistant:` for hh). Default: false. */
  addGenerationPrompt?: boolean;
}

const HH_ROLE: Record<string, string> = { user: 'Human', human: 'Human', assistant: 'Assistant', system: 'System' };

/**
 * Renders chat messages as one string, for trainers and scorers that take text instead of a chat
 * template. Content is copied verbatim (never trimmed), so `plain` of one message is lossless.
 */
export function flattenConversation(messages: readonly ChatMessage[], { style = 'plain', addGenerationPrompt = false }: FlattenOptions = {}): string {
  if (style === 'hh') {
    let text = '';
    for (const message of messages) {
      const role = HH_ROLE[message.role] ?? message.role;
      text += `\n\n${role}: ${message.content}`;
    }
    return addGenerationPrompt ? `${text}\n\nAssistant:` : text;
  }
  if (style === 'plain' && messages.length === 1 && !addGenerationPrompt) return messages[0]!.content;
  const blocks = messages.map((message) => `${message.role}: ${message.content}`);
  if (addGenerationPrompt) blocks.push('assistant:');
  return blocks.join('\n\n');
}

/**
 * Parses an Anthropic HH transcript (`\n\nHuman: …\n\nAssistant: …`) into messages. Text before the
 * first marker (rare) becomes a `system` message. A trailing empty `Assistant:` turn is dropped.
 */
export function parseHhTranscript(text: string): ChatMessage[] {
  const messages: ChatMessage[] = [];
  const pattern = /\n\n(Human|Assistant|H|A|System):/g;
  let match: RegExpExecArray | null;
  let lastRole: string | undefined;
  let lastStart = 0;
  const head = text.search(pattern);
  if (head > 0 && text.slice(0, head).trim() !== '') messages.push({ role: 'system', content: text.slice(0, head).trim() });
  while ((match = pattern.exec(text)) !== null) {
    if (lastRole !== undefined) messages.push({ role: lastRole, content: text.slice(lastStart, match.index).trim() });
    const marker = match[1]!;
    lastRole = marker === 'Human' || marker === 'H' ? 'user' : marker === 'System' ? 'system' : 'assistant';
    lastStart = match.index + match[0].length;
  }
  if (lastRole !== undefined) {
    const content = text.slice(lastStart).trim();
    if (!(lastRole === 'assistant' && content === '')) messages.push({ role: lastRole, content });
  }
  return messages;
}
