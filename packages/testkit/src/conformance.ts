/**
 * `notifierConformance`: the behaviour every epochcast notifier must have, as a vitest suite a
 * plugin runs against itself and a testkit server. The Notifier base provides most of it; this
 * proves a plugin did not break it — e.g. by awaiting the network in a hook, retrying a 401, or
 * putting its token in an error.
 *
 * ```ts
 * import { notifierConformance } from '@epochcast/testkit/conformance';
 * notifierConformance({
 *   name: 'webhook',
 *   start: () => startWebhookServer(),
 *   notifier: (server, options) => new WebhookCallback({ ...options, url: server.url }),
 *   delivered: (server) => server.received.filter((r) => r.status === 200).map((r) => r.rawBody),
 * });
 * ```
 */

import { Console } from 'node:console';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { Callback } from '@epochcast/core';
import { type Notification, Notifier, type NotifierLimits, type NotifierOptions } from '@epochcast/notify';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { FaultScope, Faults } from './faults.js';
import { AlertsAt, CrashAt, EpochClock, toyLearner } from './learner.js';

/** What the suite needs of a server: faults to inject and a way to shut it. */
export interface ConformanceServer {
  faults: Faults;
  close(): Promise<void>;
}

export interface ConformanceOptions<S extends ConformanceServer> {
  /** Names the suite: `<name> notifier conformance`. */
  name: string;
  /** Starts a fresh server (one per test). */
  start(): Promise<S>;
  /** Builds the plugin, pointed at `server`, with the suite's base options merged into its own. */
  notifier(server: S, options: NotifierOptions): Notifier;
  /** What the service accepted, one string per delivered message (its text or body), in order. */
  delivered(server: S): string[];
  /** How many requests carried a message, accepted or not (to count attempts). Default: faults aside, `delivered`. */
  attempts?(server: S): number;
  /**
   * Secrets the plugin was given: none may appear in a warning, an error, a delivered message, or
   * the notifier printed (`console.log`, `util.inspect`, `JSON.stringify`, any of its own properties).
   * The suite also registers other services' secrets in the process and checks that the plugin
   * redacts those from what it sends too.
   */
  secrets?(server: S): string[];
  /**
   * The plugin's secrets as user text (an alert, a training error) could quote them, each of which
   * must be redacted whole. Default: `secrets`. A webhook URL's path is secret as a whole, but its
   * last segment alone may be an ordinary word (`/training`), so the plugin does not redact it on
   * its own: quote the path.
   */
  quotable?(server: S): string[];
  /** Restricts injected faults to the calls that carry messages (e.g. `{ methods: ['sendMessage'] }`). */
  scope?: FaultScope;
  /** Whether the service can answer "retry after N s" (every HTTP service; not a terminal). Default true. */
  rateLimits?: boolean;
}

/** Declares the conformance suite for one plugin. */
export function notifierConformance<S extends ConformanceServer>(options: ConformanceOptions<S>): void {
  const { scope } = options;
  let server: S | undefined;
  let warnings: string[] = [];

  const start = async (): Promise<S> => {
    server = await options.start();
    return server;
  };
  const make = (s: S, extra: NotifierOptions = {}) =>
    options.notifier(s, { logger: { warn: (line) => warnings.push(line) }, runName: 'conformance', ...extra });

  describe(`${options.name} notifier conformance`, () => {
    beforeAll(async () => {
      await tf.setBackend('cpu');
    });

    afterEach(async () => {
      warnings = [];
      delete process.env.EPOCHCAST_DISABLE;
      await server?.close();
      server = undefined;
    });

    test('an epoch is not slowed by a service that takes 2 s to answer; the end still arrives', async () => {
      const s = await start();
      const notifier = make(s, { on: ['epoch', 'end'] });
      s.faults.latency(2000);
      const clock = new EpochClock();
      await toyLearner([notifier, clock]).fit(3);
      // A toy epoch takes a few ms; one that waited on the service would take at least its 2 s. The
      // margin is for a loaded machine, where a toy epoch has been seen to take 1 s.
      expect(Math.max(...clock.times)).toBeLessThan(1600);
      expect(options.delivered(s).length).toBeGreaterThanOrEqual(2);
      expect(notifier.report.delivered.at(-1)).toBe('end');
    });

    // Declared only for services that can rate-limit: a terminal cannot ask anyone to wait.
    if (options.rateLimits !== false)
      test('a 429 is waited out for exactly the time the service asked', async () => {
        const s = await start();
        const notifier = make(s, { on: ['end'] });
        const end = new EndClock();
        s.faults.rateLimit(1, 1, scope);
        await toyLearner([notifier, end]).fit(1);
        const waited = performance.now() - end.at;
        expect(options.delivered(s)).toHaveLength(1);
        expect(waited).toBeGreaterThanOrEqual(990);
        expect(waited).toBeLessThan(3000);
        expect(warnings).toEqual([]);
      });

    test('a 401 is not retried: one attempt, one warning, training unharmed', async () => {
      const s = await start();
      const notifier = make(s, { on: ['end'], retries: 3 });
      s.faults.unauthorized(1, scope);
      const learn = toyLearner([notifier]);
      await learn.fit(2);
      expect(learn.state.status).toBe('completed');
      expect(options.delivered(s)).toHaveLength(0);
      if (options.attempts) expect(options.attempts(s)).toBe(1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/could not deliver the end message: refused: .*\(not retried\)/);
    });

    test('5xx and dropped connections are retried until the end message gets through', async () => {
      const s = await start();
      const notifier = make(s, { on: ['end'] });
      s.faults.serverError(1, 500, scope).reset(1, scope);
      await toyLearner([notifier]).fit(1);
      expect(options.delivered(s)).toHaveLength(1);
      expect(warnings).toEqual([]);
    });

    test('a flood of epochs behind a slow service is coalesced; the end is delivered', async () => {
      const s = await start();
      const notifier = make(s, { on: ['epoch', 'end'] });
      s.faults.latency(200);
      await toyLearner([notifier]).fit(25);
      const delivered = options.delivered(s);
      expect(delivered.length).toBeLessThan(26);
      expect(notifier.report.coalesced).toBeGreaterThan(0);
      expect(notifier.report.delivered.filter((e) => e === 'epoch').length + notifier.report.coalesced).toBe(25);
      expect(notifier.report.delivered.at(-1)).toBe('end');
    });

    test('a crash is reported: the error message is delivered before fit rejects', async () => {
      const s = await start();
      const notifier = make(s, { on: ['error'] });
      await expect(toyLearner([notifier, new CrashAt(1, new Error('conformance crash'))]).fit(5)).rejects.toThrow('conformance crash');
      expect(options.delivered(s)).toHaveLength(1);
      expect(options.delivered(s)[0]).toContain('conformance crash');
    });

    test('the flush is bounded: a service that never answers delays the end by flushTimeoutMs at most', async () => {
      const s = await start();
      const notifier = make(s, { on: ['end'], flushTimeoutMs: 500, timeoutMs: 60_000 });
      s.faults.hang(10, scope);
      const started = performance.now();
      await toyLearner([notifier]).fit(1);
      expect(performance.now() - started).toBeLessThan(2500);
      expect(warnings.join('\n')).toMatch(/could not deliver the end message/);
    });

    test('nothing secret in warnings, errors or messages', async () => {
      const s = await start();
      const secrets = options.secrets?.(s) ?? [];
      const notifier = make(s, { on: ['start', 'epoch', 'end', 'error'], retries: 0 });
      s.faults.serverError(1, 500, scope).unauthorized(1, scope);
      const crash = new CrashAt(2, new Error(`a message quoting the secrets: ${secrets.join(' ')}`));
      const error = await toyLearner([notifier, crash])
        .fit(4)
        .catch((e: unknown) => e as Error);
      expect(warnings.length).toBeGreaterThan(0);
      const everything = [...warnings, ...options.delivered(s), JSON.stringify(notifier.report)].join('\n');
      for (const secret of secrets) expect(everything).not.toContain(secret);
      expect(error).toBeInstanceOf(Error);
    });

    test("another service's secrets never reach this one: a run name and a training error quoting them are redacted", async () => {
      const s = await start();
      const other = otherServiceSecrets();
      // Another notifier of the process registers its credentials, as a Telegram or Slack one would.
      new OtherService(other.registered);
      const notifier = make(s, { on: ['start', 'epoch', 'error'], retries: 0, runName: `conformance ${other.slackToken}` });
      const crash = new CrashAt(1, new Error(`a config dump quoting another service: ${other.quoted}`));
      await expect(toyLearner([notifier, crash]).fit(3)).rejects.toThrow('a config dump quoting another service');
      const delivered = options.delivered(s);
      expect(delivered.join('\n')).toContain('a config dump quoting another service');
      const everything = [...warnings, ...delivered, JSON.stringify(notifier.report)].join('\n');
      for (const secret of other.forms) expect(everything).not.toContain(secret);
    });

    test('printing the notifier shows no secret: util.inspect, console.log and JSON.stringify of it and of its own properties', async () => {
      const s = await start();
      const other = otherServiceSecrets();
      new OtherService(other.registered);
      const secrets = [...(options.secrets?.(s) ?? []), ...other.forms];
      const notifier = make(s, { on: ['start', 'end'] });
      const before = printed(notifier);
      await toyLearner([notifier]).fit(1);
      const everything = [...before, ...printed(notifier)].join('\n');
      for (const secret of secrets) expect(everything).not.toContain(secret);
      // JSON.stringify gives a summary without cycles, naming the notifier.
      expect(JSON.parse(JSON.stringify(notifier))).toMatchObject({ service: notifier.service });
    });

    test('an alert is delivered with its text, during a fit and outside one', async () => {
      const s = await start();
      const notifier = make(s, { on: ['alert'] });
      await toyLearner([notifier, new AlertsAt(notifier, { 1: ['critical', 'conformance alert: loss is NaN at epoch 2'] })]).fit(3);
      notifier.alert('conformance alert: the job outside the fit is done', { level: 'info' });
      await notifier.flush();
      const delivered = options.delivered(s);
      expect(delivered).toHaveLength(2);
      expect(delivered[0]).toContain('conformance alert: loss is NaN at epoch 2');
      expect(delivered[1]).toContain('conformance alert: the job outside the fit is done');
      expect(warnings).toEqual([]);
    });

    test('an alert queued behind a slow service is not lost when the end message is queued', async () => {
      const s = await start();
      const notifier = make(s, { on: ['start', 'epoch', 'end', 'alert'] });
      s.faults.latency(300);
      // Raised in the last epoch: the end message is queued right behind it, while the start is still in flight.
      await toyLearner([notifier, new AlertsAt(notifier, { 2: ['warning', 'conformance alert behind a slow service'] })]).fit(3);
      const events = notifier.report.delivered;
      expect(events).toContain('alert');
      expect(events.at(-1)).toBe('end');
      expect(events.indexOf('alert')).toBeLessThan(events.indexOf('end'));
      expect(options.delivered(s).some((m) => m.includes('conformance alert behind a slow service'))).toBe(true);
    });

    test("a secret inside an alert's text never reaches the service", async () => {
      const s = await start();
      const other = otherServiceSecrets();
      new OtherService(other.registered);
      const secrets = [...(options.secrets?.(s) ?? []), ...other.forms];
      const notifier = make(s, { on: ['alert'] });
      const quoted = options.quotable?.(s) ?? options.secrets?.(s) ?? [];
      const text = `conformance alert quoting secrets: ${[...quoted, other.quoted].join(' ')}`;
      await toyLearner([notifier, new AlertsAt(notifier, { 0: ['warning', text] })]).fit(1);
      notifier.alert(text);
      await notifier.flush();
      const delivered = options.delivered(s);
      expect(delivered).toHaveLength(2);
      for (const message of delivered) expect(message).toContain('conformance alert quoting secrets');
      const everything = [...warnings, ...delivered, JSON.stringify(notifier.report)].join('\n');
      for (const secret of secrets) expect(everything).not.toContain(secret);
    });

    test('disabled means silent: enabled false and EPOCHCAST_DISABLE=1 send nothing', async () => {
      const s = await start();
      await toyLearner([make(s, { enabled: false })]).fit(2);
      process.env.EPOCHCAST_DISABLE = '1';
      await toyLearner([make(s)]).fit(2);
      expect(options.delivered(s)).toEqual([]);
      expect(options.attempts?.(s) ?? 0).toBe(0);
    });
  });
}

/** Credentials of another service, fresh per test, and every form in which none may reach this one. */
function otherServiceSecrets(): { registered: string[]; quoted: string; forms: string[]; slackToken: string } {
  const id = randomBytes(6).toString('hex');
  const telegramToken = `${Date.now() % 1_000_000_000}:AAF-other-${id}`;
  const slackToken = `xoxb-other-${id}`;
  const smtpPassword = `other-pw-${id}`;
  const hookSecret = `OTHERHOOK${id}`;
  const smtpUrl = `smtps://trainer:${smtpPassword}@smtp.example.test:465`;
  const hookUrl = `https://hooks.example.test/services/T0OTHER00/B0OTHER00/${hookSecret}`;
  return {
    registered: [telegramToken, slackToken, smtpUrl, hookUrl],
    // Whole, and by their secret parts alone: the token after its colon, the password, the hook's path secret.
    quoted: [
      telegramToken,
      telegramToken.split(':')[1],
      encodeURIComponent(telegramToken),
      slackToken,
      smtpUrl,
      smtpPassword,
      hookUrl,
      hookSecret,
    ].join(' '),
    forms: [telegramToken, `AAF-other-${id}`, slackToken, smtpPassword, hookSecret],
    slackToken,
  };
}

/** Another notifier in the process (it never sends): its constructor registers its secrets. */
class OtherService extends Notifier {
  readonly service = 'other-service';
  readonly limits: NotifierLimits = { maxTextLength: 1000, images: false };
  constructor(secrets: readonly string[]) {
    super({ enabled: false, handleSignals: false });
    this.registerSecret(...secrets);
  }
  protected async send(_n: Notification): Promise<void> {}
}

/** `value` as console.log, util.inspect (everything shown) and JSON.stringify print it, and each of its own properties inspected. */
function printed(value: object): string[] {
  let logged = '';
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged += chunk.toString();
      done();
    },
  });
  new Console({ stdout: out }).log(value);
  const texts = [logged, inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true }), JSON.stringify(value) ?? ''];
  for (const key of Reflect.ownKeys(value))
    texts.push(`${String(key)}: ${inspect(Reflect.get(value, key), { depth: 6, showHidden: true })}`);
  return texts;
}

/** When the end of the run began (before any notifier's flush). */
class EndClock extends Callback {
  override order = -100;
  at = 0;
  override onTrainEnd() {
    this.at = performance.now();
  }
}
