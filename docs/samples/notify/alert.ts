import { TelegramCallback } from '@epochcast/telegram';

// Reads TELEGRAM_BOT_TOKEN and TELEGRAM_CHAT_ID.
const telegram = new TelegramCallback({ runName: 'mnist-mlp' });
// …in your own callback, or anywhere in your code:
telegram.alert('valid_loss is NaN at epoch 3', { level: 'critical' });
// Outside a fit the alert is sent in the background: wait for it before the process ends.
await telegram.flush();
