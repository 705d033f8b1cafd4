import { ConsoleCallback } from '@epochcast/notify';
import { startStreamSink } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';

notifierConformance({
  name: 'ConsoleCallback',
  start: () => startStreamSink(),
  notifier: (sink, options) => new ConsoleCallback({ ...options, stream: sink.stream }),
  delivered: (sink) => sink.written(),
  attempts: (sink) => sink.received.length,
  rateLimits: false,
});
