/**
 * Slack's failures, mapped to what the Notifier base does with them: wait (RateLimitError), give up
 * on the message (PermanentError) or on the fit (ConfigRejectedError: the token or the channel
 * refused), or try again (TransientError). The clients are set not to retry on their own
 * (`retryConfig: { retries: 0 }`, `rejectRateLimitedCalls`), so retries never multiply.
 */
import { ConfigRejectedError, httpError, PermanentError, RateLimitError, TransientError } from '@epochcast/notify';
import { type WebAPICallResult, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } from '@slack/web-api';
import { IncomingWebhookHTTPError, IncomingWebhookRequestError } from '@slack/webhook';

/** Platform errors that are Slack's own trouble, not the request's: worth another try. */
const TRANSIENT_CODES = new Set(['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org']);

/** Platform errors that mean the configuration is wrong: the token, its scopes or the channel. */
const CONFIG_CODES = new Set([
  'not_authed',
  'invalid_auth',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'restricted_action',
  'ekm_access_denied',
]);

/** What a user should do about a configuration error; `channel` is the setting as given. */
export function hint(code: string, channel: string | undefined): string {
  switch (code) {
    case 'not_authed':
    case 'invalid_auth':
    case 'account_inactive':
    case 'token_revoked':
    case 'token_expired':
      return 'Slack refused the bot token: check SLACK_BOT_TOKEN (the "Bot User OAuth Token" of your Slack app, xoxb-…)';
    case 'missing_scope':
      return 'the token lacks a scope: the app needs chat:write (and files:write for the loss plot)';
    case 'channel_not_found':
      return `Slack knows no channel ${JSON.stringify(channel ?? '')} that this bot can see: check SLACK_CHANNEL (a channel ID such as C0123456789, or #name of a public channel) and invite the bot to a private channel (/invite @your-app)`;
    case 'not_in_channel':
      return `the bot is not a member of ${JSON.stringify(channel ?? '')}: invite it (/invite @your-app)`;
    case 'is_archived':
      return `the channel ${JSON.stringify(channel ?? '')} is archived`;
    default:
      return 'Slack refused the request';
  }
}

/**
 * A Web API failure as the error the Notifier base acts on. `what` names the call in the message
 * (`chat.postMessage`); Slack's own explanation (`response_metadata.messages`, e.g. which block is
 * invalid) is kept, since it is what a user needs to see. No token is ever in these errors.
 */
export function fromWebApi(error: unknown, what: string, channel?: string): Error {
  if (error instanceof WebAPIRateLimitedError)
    return new RateLimitError(error.retryAfter * 1000, `${what}: rate limited, retry after ${error.retryAfter} s`);
  if (error instanceof WebAPIPlatformError) return fromCode(error.data.error, error.data, what, channel);
  if (error instanceof WebAPIHTTPError) return httpError(error.statusCode, error.statusMessage, undefined, what);
  if (error instanceof WebAPIRequestError) return new TransientError(`${what}: could not reach Slack (${cause(error.original)})`);
  return new TransientError(`${what}: ${error instanceof Error ? error.message : String(error)}`);
}

function fromCode(code: string, data: WebAPICallResult, what: string, channel: string | undefined): Error {
  if (code === 'ratelimited') return new RateLimitError((data.response_metadata?.retryAfter ?? 1) * 1000, `${what}: ${code}`);
  if (TRANSIENT_CODES.has(code)) return new TransientError(`${what}: ${code}`);
  // The token, its scopes or the channel refused: nothing else of this run can get through either.
  if (CONFIG_CODES.has(code)) return new ConfigRejectedError(`${what}: ${code} — ${hint(code, channel)}`);
  const details = data.response_metadata?.messages?.join('; ');
  return new PermanentError(`${what}: ${code}${details ? ` — ${details}` : ''}`);
}

/**
 * An incoming-webhook failure. `@slack/webhook`'s HTTP error has no headers, so the caller passes
 * the `Retry-After` its fetch saw (see `SlackCallback`).
 */
export function fromWebhook(error: unknown, retryAfterSeconds: number | undefined): Error {
  if (error instanceof IncomingWebhookHTTPError) {
    const body = error.body.trim().slice(0, 200);
    return httpError(error.statusCode, body, retryAfterSeconds, 'webhook');
  }
  if (error instanceof IncomingWebhookRequestError) return new TransientError(`webhook: could not reach Slack (${cause(error.original)})`);
  return new TransientError(`webhook: ${error instanceof Error ? error.message : String(error)}`);
}

/** fetch's own message is only "fetch failed" or "This operation was aborted"; the cause says why. */
function cause(error: Error): string {
  const inner = (error as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ?? inner?.message ?? error.message;
}
