// The public API of @epochcast/email, and nothing else.
export { EmailCallback, type EmailCallbackOptions } from './email-callback.js';
