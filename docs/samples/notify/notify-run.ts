import { notifyRun, WebhookCallback } from '@epochcast/notify';

// Your job: here a stand-in that takes a moment and returns how many rows it wrote.
async function reindexEverything(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 100));
  return 1234;
}

// The webhook posts to EPOCHCAST_WEBHOOK_URL (signed with EPOCHCAST_WEBHOOK_SECRET, if set).
const rows = await notifyRun(() => reindexEverything(), { notifiers: [new WebhookCallback()], name: 'reindex' });
console.log(`reindexed ${rows} rows`);
