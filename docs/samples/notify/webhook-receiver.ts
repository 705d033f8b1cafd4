// A receiver of epochcast's webhook that accepts only requests signed with its secret, and a run
// that posts to it (a job's start and end), then a forged request that it refuses.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notifyRun, verifyWebhookSignature, WebhookCallback, WebhookSignatureError } from '@epochcast/notify';

const secret = process.env.EPOCHCAST_WEBHOOK_SECRET ?? '';

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const rawBody = Buffer.concat(chunks);
  // #region verify
  try {
    verifyWebhookSignature({ body: rawBody, header: req.headers['x-epochcast-signature'], secret });
  } catch (error) {
    if (error instanceof WebhookSignatureError) return res.writeHead(401).end(); // error.reason: missing, malformed, stale, future, mismatch
    throw error;
  }
  // #endregion
  const { event } = JSON.parse(rawBody.toString('utf8')) as { event: string };
  console.log(`accepted a signed ${event} notification (delivery ${req.headers['x-epochcast-delivery'] ? 'id present' : 'id missing'})`);
  res.writeHead(204).end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/training-hook`;

await notifyRun(async () => {}, { notifiers: [new WebhookCallback({ url, secret })], name: 'signed-job' });

const forged = await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-epochcast-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
  body: JSON.stringify({ event: 'end' }),
});
console.log(`a forged request: ${forged.status}`);
server.close();
