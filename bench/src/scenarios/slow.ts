// Scenario 2 — slow services: every server answers each request after 2 s. The epoch time of
// Learner.fit with all three notifiers (every event) against Learner.fit without notifiers,
// interleaved in random order; and every end message still delivered.
import * as tf from '@tensorflow/tfjs';
import seedrandom from 'seedrandom';
import { epochClock } from '../clock.js';
import { fmt, mark, mean, median, pairedRatio, progress, shuffled, table } from '../harness.js';
import { endMessages, makeNotifiers, type Services } from '../services.js';
import { learnerFit, smallTask } from '../tasks.js';

export const LATENCY_MS = 2000;
const EPOCHS = 20;
const PLAIN = 'Learner.fit, no notifiers';
const SLOW = 'Learner.fit + all notifiers, services answer after 2 s';
type Variant = typeof PLAIN | typeof SLOW;
const VARIANTS: readonly Variant[] = [PLAIN, SLOW];

export const slowDescription = `task ${smallTask.name}: ${smallTask.describe}, ${EPOCHS} epochs per fit; Telegram, Slack and SMTP servers all with faults.latency(${LATENCY_MS})`;

export async function slowScenario(rounds: number, services: Services): Promise<string> {
  const task = { ...smallTask, epochs: EPOCHS };
  const data = task.data();
  const template = task.model();
  const initial = template.getWeights().map((w) => w.clone());
  template.dispose();
  const epochMs = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const fitMs = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const waits: number[] = [];
  const ends = { telegram: 0, slack: 0, email: 0 };
  let runs = 0;
  services.latency(LATENCY_MS);
  try {
    const random = seedrandom('slow');
    // Round 0: a warm-up of the plain fit only (the notifier code is warm from scenario 1 or not;
    // either way its cost would only count against it).
    for (let round = 0; round <= rounds; round++) {
      const order: Variant[] = round === 0 ? [PLAIN] : shuffled(VARIANTS, random);
      const line: string[] = [];
      for (const variant of order) {
        const model = task.model();
        model.setWeights(initial);
        const clock = epochClock();
        const runName = `bench-slow-${++runs}`;
        const notifiers = variant === SLOW ? makeNotifiers(services, runName) : undefined;
        const started = performance.now();
        try {
          await learnerFit(model, data, task, [...clock.callbacks, ...(notifiers?.all ?? [])]);
        } finally {
          await notifiers?.close();
          model.dispose();
        }
        const wall = performance.now() - started;
        const perEpoch = mean(clock.epochMs());
        if (round > 0) {
          epochMs.get(variant)?.push(perEpoch);
          fitMs.get(variant)?.push(wall);
          if (notifiers) {
            waits.push(notifiers.waitsMs());
            const got = endMessages(services, runName);
            ends.telegram += got.telegram;
            ends.slack += got.slack;
            ends.email += got.email;
          }
        }
        line.push(`${variant === SLOW ? 'notifiers' : 'plain'} ${perEpoch.toFixed(1)} ms/epoch, fit ${(wall / 1000).toFixed(1)} s`);
      }
      progress(`slow ${round === 0 ? 'warm-up' : `round ${round}/${rounds}`}: ${line.join('; ')}`);
    }
  } finally {
    services.latency(0);
    tf.dispose(initial);
    data.dispose();
  }
  const ratio = pairedRatio(epochMs.get(SLOW) ?? [], epochMs.get(PLAIN) ?? []);
  const rows = VARIANTS.map((v) => [
    v,
    fmt(median(epochMs.get(v) ?? []), 2),
    v === SLOW ? ratio.toFixed(3) : '1.000',
    fmt(median(fitMs.get(v) ?? []) / 1000, 1),
    v === SLOW ? fmt(median(waits) / 1000, 1) : '–',
    v === SLOW ? `${ends.telegram}/${rounds}` : '–',
    v === SLOW ? `${ends.slack}/${rounds}` : '–',
    v === SLOW ? `${ends.email}/${rounds}` : '–',
  ]);
  const allEnds = ends.telegram === rounds && ends.slack === rounds && ends.email === rounds;
  return [
    `${slowDescription}; ${rounds} rounds`,
    'ms/epoch = wall time from the first callback at onEpochBegin to the last at onEpochEnd (all hooks included), mean over the fit',
    '',
    table(
      [
        'variant',
        'median ms/epoch',
        'vs no notifiers',
        'median fit s',
        'start check + end flush, s',
        'Telegram end msgs',
        'Slack end msgs',
        'e-mail end msgs',
      ],
      rows,
      1,
    ),
    '',
    `slow services: epoch time ${ratio.toFixed(3)}× without notifiers (target ≤ 1.02: ${mark(ratio <= 1.02)}); end messages delivered ${ends.telegram + ends.slack + ends.email}/${3 * rounds} (target all: ${mark(allEnds)})`,
    services.warnings.length ? `notifier warnings so far: ${services.warnings.length}` : '',
  ]
    .filter((l, i, a) => l !== '' || a[i - 1] !== '')
    .join('\n');
}
