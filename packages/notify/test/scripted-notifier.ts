import { type Notification, Notifier, type NotifierLimits, type NotifierOptions, type SendContext } from '../src/index.js';

/** What a scripted send does: succeed after `delayMs`, or throw. */
export type Step = { delayMs?: number; error?: () => Error; hang?: boolean };

/**
 * A plugin whose service is a script: each send takes the next step (the last one repeats).
 * It exercises the Notifier base, the thing under test; plugins with a wire are tested against
 * the testkit's real servers instead.
 */
export class ScriptedNotifier extends Notifier {
  readonly service = 'scripted';
  readonly limits: NotifierLimits;
  sent: { notification: Notification; at: number; attempt: number }[] = [];
  attempts: { event: string; at: number }[] = [];
  verified = 0;

  constructor(
    private readonly steps: Step[] = [{}],
    options: NotifierOptions & { secret?: string; limits?: Partial<NotifierLimits>; failVerify?: string } = {},
  ) {
    super(options);
    this.limits = { maxTextLength: 4096, images: true, ...options.limits };
    this.registerSecret(options.secret);
    if (options.failVerify) {
      const message = options.failVerify;
      this.verify = async () => {
        this.verified += 1;
        throw new Error(message);
      };
    }
  }

  protected async send(notification: Notification, { signal, attempt }: SendContext): Promise<void> {
    this.attempts.push({ event: notification.event, at: performance.now() });
    const step = this.steps[Math.min(this.attempts.length - 1, this.steps.length - 1)] ?? {};
    if (step.hang) {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    if (step.delayMs) await new Promise((r) => setTimeout(r, step.delayMs));
    if (step.error) throw step.error();
    this.sent.push({ notification, at: performance.now(), attempt });
  }

  events(): string[] {
    return this.sent.map((s) => s.notification.event);
  }
}
