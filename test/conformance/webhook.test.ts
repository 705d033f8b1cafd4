import { WebhookCallback } from '@epochcast/notify';
import { startWebhookServer } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';

const SECRET = 'hmac-secret-4f9a2c';

notifierConformance({
  name: 'WebhookCallback',
  start: () => startWebhookServer({ secret: SECRET }),
  notifier: (server, options) => new WebhookCallback({ ...options, url: `${server.url}/hooks/T0KEN-1234`, secret: SECRET }),
  delivered: (server) => server.received.filter((r) => r.status === 200 && r.signatureValid === true).map((r) => r.rawBody),
  attempts: (server) => server.received.length,
  secrets: () => [SECRET, 'T0KEN-1234'],
  quotable: (server) => [SECRET, '/hooks/T0KEN-1234', `${server.url}/hooks/T0KEN-1234`],
});
