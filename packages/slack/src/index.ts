// The public API of @epochcast/slack.
export type { SlackEpochMode } from './config.js';
export { SlackCallback, type SlackCallbackOptions } from './slack-callback.js';
