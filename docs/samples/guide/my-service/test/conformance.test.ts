import { startWebhookServer, type WebhookServer } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';
import { MyServiceCallback } from '../src/index.js';

const TOKEN = 'my-service-test-token-4f9a2c';

// The behaviour every epochcast notifier must have, against a local webhook server with faults
// (429, 5xx, 401, hangs, resets, latency). When send() speaks your service's API, start a server
// that speaks it too (a FakeService of @epochcast/testkit) and point the plugin at it.
notifierConformance<WebhookServer>({
  name: 'MyServiceCallback',
  start: () => startWebhookServer(),
  notifier: (server, options) => new MyServiceCallback({ ...options, url: `${server.url}/hook`, token: TOKEN }),
  delivered: (server) => server.received.filter((r) => r.status === 200).map((r) => r.rawBody),
  attempts: (server) => server.received.length,
  secrets: () => [TOKEN],
});
