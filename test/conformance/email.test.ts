import { EmailCallback } from '@epochcast/email';
import { startSmtpSink } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';

const USER = 'trainer';
const PASSWORD = 'Sm7p-pa55word-9c1e';

notifierConformance({
  name: 'EmailCallback',
  // The sink requires no login but accepts this one, so the password really crosses the wire
  // (AUTH PLAIN) and the secrecy check means something. Faults are scoped to messages: a 401
  // injected at AUTH would fail verify() at train begin, which is this plugin's design (a bad
  // password stops the run before its first epoch) rather than the "refused send" the suite checks.
  start: () => startSmtpSink(),
  notifier: (sink, options) =>
    new EmailCallback({
      ...options,
      smtpUrl: `smtp://${USER}:${PASSWORD}@${sink.host}:${sink.port}`,
      from: 'epochcast <runs@example.test>',
      to: ['me@example.test', 'team@example.test'],
    }),
  delivered: (sink) => sink.received.filter((m) => m.status === 250).map((m) => `${m.subject}\n${m.text ?? ''}\n${m.html ?? ''}`),
  attempts: (sink) => sink.received.length,
  secrets: () => [PASSWORD, encodeURIComponent(PASSWORD)],
  scope: { methods: ['message'] },
});
