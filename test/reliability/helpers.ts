/** Shared pieces of the reliability suite: a small deterministic training run and secret checks. */
import type { Callback } from '@epochcast/core';
import { disposeToyLearner, type ToyLearnerOptions, toyLearner } from '@epochcast/testkit/learner';

/** The suite's toy run: 96 samples from data seed 11, split seed 5, 8 hidden units seeded 21/22, Adam. */
export const SEEDED: ToyLearnerOptions = { dataSeed: 11, splitSeed: 5, seed: 21, hidden: 8, optimizer: 'adam' };

/** What a run produced, minus wall-clock times: final weights and the per-epoch history. */
export interface RunResult {
  status: string;
  weights: number[][];
  history: { epoch: number; trainLoss: number; validLoss: number; metrics: Record<string, number> }[];
}

export async function trainSeeded(callbacks: Callback[], epochs = 3): Promise<RunResult> {
  const learn = toyLearner(callbacks, SEEDED);
  await learn.fit(epochs, { lr: 1e-2 });
  const weights = learn.model.getWeights().map((w) => Array.from(w.dataSync()));
  const history = learn.recorder.history.map(({ epoch, trainLoss, validLoss, metrics }) => ({ epoch, trainLoss, validLoss, metrics }));
  const result = { status: learn.state.status, weights, history };
  disposeToyLearner(learn);
  return result;
}

/** Every secret, and its URL-encoded form, absent from `text`. Returns the ones found. */
export function leakedSecrets(text: string, secrets: readonly string[]): string[] {
  return secrets.filter((s) => s.length >= 4 && (text.includes(s) || text.includes(encodeURIComponent(s))));
}
