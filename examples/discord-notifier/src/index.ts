// The public API of epochcast-notifier-discord, and nothing else.

export { DiscordCallback, type DiscordCallbackOptions, formErrors } from './discord-notifier.js';
export {
  codeBlock,
  DISCORD_LIMITS,
  type DiscordEmbed,
  type DiscordEmbedField,
  type DiscordMessage,
  embedLength,
  escapeDiscord,
  OUTCOME_COLOR,
  renderDiscord,
  summaryEmbed,
} from './render.js';
