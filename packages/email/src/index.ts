// The public API of @epochcast/email, and nothing else.
export { EmailCallback, type EmailCallbackOptions } from './email-callback.js';
// The Content-ID of the loss plot in a summary mail's HTML (`<img src="cid:loss-plot">`).
export { LOSS_PLOT_CID } from './render.js';
