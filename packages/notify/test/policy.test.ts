// Policy the Notifier base owns for every plugin: the end of a fit (one moment, side by side), the
// check before the first epoch by error class, steps that a retry does not redo, refused extras,
// a refused configuration during a fit, the start message as the check, and text sized to the limits.
import { Callback } from '@epochcast/core';
import { EpochCounter, SlowEpochs, toyLearner } from '@epochcast/testkit/learner';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  ConfigRejectedError,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  PermanentError,
  PLAIN,
  type SendContext,
  TransientError,
  type VerifyContext,
} from '../src/index.js';
import { ScriptedNotifier } from './scripted-notifier.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const warnings = () => {
  const lines: string[] = [];
  return { lines, logger: { warn: (line: string) => lines.push(line) } };
};

/** A plugin whose send is a function of the test's, so each test scripts the service it needs. */
class FnNotifier extends Notifier {
  readonly service = 'fn';
  readonly limits: NotifierLimits;
  constructor(
    private readonly sendFn: (n: Notification, context: SendContext) => Promise<void>,
    options: NotifierOptions & { limits?: Partial<NotifierLimits>; verifyFn?: (context: VerifyContext) => Promise<void> } = {},
  ) {
    super(options);
    this.limits = { maxTextLength: 4096, images: true, ...options.limits };
    const verifyFn = options.verifyFn;
    if (verifyFn) this.verify = (context) => verifyFn(context);
  }
  protected send(n: Notification, context: SendContext): Promise<void> {
    return this.sendFn(n, context);
  }
}

describe('the end of a fit', () => {
  test('every notifier flushes side by side: fit() takes the slowest, not the sum, and all report the same duration', async () => {
    const ends: Notification[] = [];
    const slowEnd = (ms: number) => async (n: Notification) => {
      if (n.event !== 'end') return;
      await new Promise((resolve) => setTimeout(resolve, ms));
      ends.push(n);
    };
    const notifiers = [new FnNotifier(slowEnd(800)), new FnNotifier(slowEnd(800)), new FnNotifier(slowEnd(800))];
    let endedAt = 0;
    class EndClock extends Callback {
      override order = 50;
      override onTrainEnd(): void {
        endedAt = performance.now();
      }
    }
    await toyLearner([...notifiers, new EndClock()]).fit(1);
    const waited = performance.now() - endedAt;
    expect(ends).toHaveLength(3);
    // Serially this would be 2.4 s.
    expect(waited).toBeGreaterThanOrEqual(790);
    expect(waited).toBeLessThan(1700);
    expect(new Set(ends.map((n) => n.durationMs)).size).toBe(1);
  });

  test('the end plot is drawn once for every notifier of the fit', async () => {
    const plots: unknown[] = [];
    const keepPlot = async (n: Notification) => {
      if (n.plot) plots.push(n.plot);
    };
    await toyLearner([new FnNotifier(keepPlot), new FnNotifier(keepPlot)]).fit(1);
    expect(plots).toHaveLength(2);
    expect(plots[0]).toBe(plots[1]);
  });

  test('a plugin hears onFitEnding before its last message is queued and onFitEnded after it is out', async () => {
    const order: string[] = [];
    class Hooked extends FnNotifier {
      protected override onFitEnding(): void {
        order.push('ending');
      }
      protected override onFitEnded(): void {
        order.push('ended');
      }
    }
    const hooked = new Hooked(async (n) => {
      if (n.event === 'end') {
        await new Promise((resolve) => setTimeout(resolve, 50));
        order.push('end sent');
      }
    });
    await toyLearner([hooked]).fit(1);
    expect(order).toEqual(['ending', 'end sent', 'ended']);
  });
});

describe('the check before the first epoch, by error class', () => {
  test('unreachable (TransientError): one warning naming what could not be checked; training goes on', async () => {
    const { lines, logger } = warnings();
    const counter = new EpochCounter();
    const notifier = new FnNotifier(async () => {}, {
      logger,
      verifyFn: async () => {
        throw new TransientError('connect ECONNREFUSED 127.0.0.1:9');
      },
    });
    const learn = toyLearner([notifier, counter]);
    await learn.fit(2);
    expect(learn.state.status).toBe('completed');
    expect(counter.begun).toBe(2);
    expect(lines).toEqual(['epochcast fn: could not check the configuration (connect ECONNREFUSED 127.0.0.1:9); training goes on']);
  });

  test('no answer within timeoutMs: one warning; training goes on, not held up by a check that ignores its signal', async () => {
    const { lines, logger } = warnings();
    const notifier = new FnNotifier(async () => {}, { logger, timeoutMs: 200, verifyFn: () => new Promise(() => {}) });
    const started = performance.now();
    const learn = toyLearner([notifier]);
    await learn.fit(1);
    expect(learn.state.status).toBe('completed');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(lines).toEqual(['epochcast fn: could not check the configuration (no answer within 200 ms); training goes on']);
  });

  test('rejected (ConfigRejectedError): the run fails before its first epoch, nothing is sent, the secret is not shown', async () => {
    const sent: string[] = [];
    const counter = new EpochCounter();
    class Secretive extends FnNotifier {
      constructor() {
        super(async (n) => void sent.push(n.event), {
          verifyFn: async () => {
            throw new ConfigRejectedError('401 token s3cr3t-t0ken rejected');
          },
        });
        this.registerSecret('s3cr3t-t0ken');
      }
    }
    const error = await toyLearner([new Secretive(), counter])
      .fit(2)
      .then(
        () => new Error('the fit resolved'),
        (e: unknown) => e as Error,
      );
    expect(error.message).toBe('callback Secretive.onTrainBegin threw: fn: 401 token *** rejected');
    expect(counter.begun).toBe(0);
    expect(sent).toEqual([]);
  });

  test('checkConfiguration() asks now and rejects with the reason, whatever its class', async () => {
    const notifier = new FnNotifier(async () => {}, {
      verifyFn: async () => {
        throw new TransientError('503 Service Unavailable');
      },
    });
    await expect(notifier.checkConfiguration()).rejects.toThrow('503 Service Unavailable');
    await expect(new FnNotifier(async () => {}).checkConfiguration()).resolves.toBeUndefined();
  });
});

describe('sends of several steps', () => {
  test('a retry does not redo a step that succeeded: the text is posted once, the photo until it gets through', async () => {
    const posted: string[] = [];
    let photoTries = 0;
    const notifier = new FnNotifier(
      async (n, context) => {
        if (n.event !== 'end') return;
        await context.step('text', async () => void posted.push('text'));
        await context.step('photo', async () => {
          photoTries += 1;
          if (photoTries < 3) throw new TransientError('502 Bad Gateway');
          posted.push('photo');
        });
      },
      { on: ['end'] },
    );
    await toyLearner([notifier]).fit(1);
    expect(posted).toEqual(['text', 'photo']);
    expect(photoTries).toBe(3);
    expect(notifier.report.delivered).toEqual(['end']);
  });

  test('a refused optional step is one warning and the message counts as delivered; a failing one is retried', async () => {
    const { lines, logger } = warnings();
    let tries = 0;
    const notifier = new FnNotifier(
      async (_n, context) => {
        await context.step('text', async () => {});
        await context.optionalStep('the loss plot', async () => {
          throw new PermanentError('400 Bad Request: PHOTO_INVALID_DIMENSIONS');
        });
        await context.optionalStep('the run card', async () => {
          tries += 1;
          if (tries === 1) throw new TransientError('500 Internal Server Error');
        });
      },
      { on: ['end'], logger },
    );
    await toyLearner([notifier]).fit(1);
    expect(notifier.report.delivered).toEqual(['end']);
    expect(tries).toBe(2);
    expect(lines).toEqual([
      'epochcast fn: the end message was sent, but the loss plot was refused: 400 Bad Request: PHOTO_INVALID_DIMENSIONS',
    ]);
  });
});

describe('a refused configuration during a fit', () => {
  test('after the service refuses the credentials, nothing more is tried that fit: one warning, the rest listed as not sent', async () => {
    const { lines, logger } = warnings();
    const tried: string[] = [];
    const notifier = new FnNotifier(
      async (n) => {
        tried.push(n.event);
        if (n.event === 'epoch') throw new ConfigRejectedError('403 Forbidden: bot was kicked from the chat');
      },
      { logger },
    );
    const learn = toyLearner([notifier, new SlowEpochs(30)]);
    await learn.fit(4);
    expect(learn.state.status).toBe('completed');
    expect(tried).toEqual(['start', 'epoch']);
    expect(lines).toEqual([expect.stringMatching(/^epochcast fn: could not deliver an epoch message: refused: 403 Forbidden/)]);
    expect(notifier.report.failed.map((f) => f.event)).toEqual(['epoch', 'epoch', 'epoch', 'epoch', 'end']);
    expect(notifier.report.failed.at(-1)?.reason).toMatch(/^not sent: the service refused the configuration earlier/);
  });
});

describe('the start message as the check', () => {
  class PostingChecked extends FnNotifier {
    protected override checksWithStartMessage = true;
  }

  test('its refusal fails the run before the first epoch', async () => {
    const counter = new EpochCounter();
    const notifier = new PostingChecked(async (n) => {
      if (n.event === 'start') throw new ConfigRejectedError('channel_not_found');
    });
    const error = await toyLearner([notifier, counter])
      .fit(2)
      .then(
        () => new Error('the fit resolved'),
        (e: unknown) => e as Error,
      );
    expect(error.message).toBe('callback PostingChecked.onTrainBegin threw: fn: channel_not_found');
    expect(counter.begun).toBe(0);
  });

  test('a service that is merely down does not stop the run', async () => {
    const counter = new EpochCounter();
    let starts = 0;
    const notifier = new PostingChecked(
      async (n) => {
        if (n.event === 'start' && ++starts === 1) throw new TransientError('503');
      },
      { logger: { warn: () => {} } },
    );
    const learn = toyLearner([notifier, counter]);
    await learn.fit(2);
    expect(learn.state.status).toBe('completed');
    expect(counter.begun).toBe(2);
    expect(notifier.report.delivered).toContain('start');
  });
});

describe('text sized to the service', () => {
  test('context.messages splits and trims to limits.maxTextLength, less what the plugin reserves', async () => {
    const texts: string[][] = [];
    const notifier = new FnNotifier(
      async (n, context) => {
        if (n.event === 'end') texts.push(context.messages(PLAIN, { maxMessages: 3 }), context.messages(PLAIN, { reserve: 50 }));
      },
      { limits: { maxTextLength: 300 }, runName: `r${'x'.repeat(1000)}` },
    );
    await toyLearner([notifier]).fit(6);
    const [three = [], one = []] = texts;
    expect(three.length).toBeGreaterThan(1);
    expect(three.length).toBeLessThanOrEqual(3);
    for (const t of three) expect(t.length).toBeLessThanOrEqual(300);
    expect(one).toHaveLength(1);
    expect(one[0]?.length).toBeLessThanOrEqual(250);
    expect(one[0]).toMatch(/^✅ rxxx/);
  });

  test('warn() is one line, prefixed with the service and redacted', async () => {
    const { lines, logger } = warnings();
    class Warns extends ScriptedNotifier {
      say(text: string) {
        this.warn(text);
      }
    }
    const notifier = new Warns([{}], { logger, secret: 'hunter2-secret' });
    notifier.say('the webhook hunter2-secret answered 410');
    expect(lines).toEqual(['epochcast scripted: the webhook *** answered 410']);
    await expect(notifier.close()).resolves.toBeUndefined();
  });
});
