// The public API of @epochcast/ntfy.
export { DEFAULT_MAX_ATTACHMENT_BYTES, type NtfyPriority } from './config.js';
export { NTFY_EPOCH_INTERVAL_MS, NTFY_MESSAGE_BYTES, NtfyCallback, type NtfyCallbackOptions } from './ntfy-callback.js';
