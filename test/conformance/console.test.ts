import { ConsoleNotifier } from '@epochcast/core';
import { startStreamSink } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';

notifierConformance({
  name: 'ConsoleNotifier',
  start: () => startStreamSink(),
  notifier: (sink, options) => new ConsoleNotifier({ ...options, stream: sink.stream }),
  delivered: (sink) => sink.written(),
  attempts: (sink) => sink.received.length,
  rateLimits: false,
});
