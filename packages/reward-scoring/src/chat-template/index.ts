export { compileChatTemplate, ChatTemplate, CHAT_TEMPLATE_LIMITS } from './compile-chat-template';
export type { ChatTemplateLimits } from './compile-chat-template';
export { readChatTemplate } from './read-chat-template';
