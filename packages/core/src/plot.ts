// Placeholder signatures; the rendering is being written.
import type { EpochStats } from './state.js';
export class Plot {
  constructor(readonly svg: string) {}
  async png(): Promise<Uint8Array> {
    throw new Error('not implemented');
  }
}
export function renderLossPlot(_d: { losses: readonly number[]; validLosses: readonly { step: number; loss: number }[] }): Plot {
  throw new Error('not implemented');
}
export function renderLrPlot(_d: { lrs: readonly number[]; moms: readonly number[] }): Plot {
  throw new Error('not implemented');
}
export function renderMetricsPlot(_d: { history: readonly EpochStats[]; metricNames: readonly string[] }): Plot {
  throw new Error('not implemented');
}
export function renderLrFindPlot(_d: { lrs: readonly number[]; losses: readonly number[]; suggestedLr: number }): Plot {
  throw new Error('not implemented');
}
