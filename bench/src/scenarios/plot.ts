// Scenario 4 — the loss plot of a long run: a Recorder holding 100,000 training batches (100
// epochs of 1,000), drawn with the public `recorder.plotLosses()` (SVG) and `await plot.png()`.
import { Recorder } from '@epochcast/core';
import seedrandom from 'seedrandom';
import { fmt, median, progress, table } from '../harness.js';

export const PLOT_BATCHES = 100_000;
const EPOCHS = 100;

/** A Recorder as a 100,000-batch run leaves it: noisy decaying raw losses, fastai-smoothed, 100 epochs. */
function filledRecorder(batches: number): Recorder {
  const random = seedrandom('plot');
  const recorder = new Recorder();
  const perEpoch = batches / EPOCHS;
  let avg = 0;
  for (let i = 0; i < batches; i++) {
    const raw = 0.05 + 2 * Math.exp(-i / 15_000) + 0.3 * (random() - 0.5) * Math.exp(-i / 40_000);
    avg = 0.98 * avg + 0.02 * raw;
    recorder.rawLosses.push(raw);
    recorder.losses.push(avg / (1 - 0.98 ** (i + 1)));
    recorder.lrs.push(1e-3);
    recorder.moms.push(0.9);
    if ((i + 1) % perEpoch === 0) {
      const epoch = (i + 1) / perEpoch - 1;
      recorder.epochEndSteps.push(i + 1);
      recorder.history.push({
        epoch,
        totalEpochs: EPOCHS,
        trainLoss: recorder.losses[i] as number,
        validLoss: (recorder.losses[i] as number) * 1.1,
        metrics: {},
        lr: 1e-3,
        timeMs: 1000,
      });
    }
  }
  return recorder;
}

export async function plotScenario(reps = 5): Promise<string> {
  const recorder = filledRecorder(PLOT_BATCHES);
  const svgMs: number[] = [];
  const pngMs: number[] = [];
  let svgBytes = 0;
  let pngBytes = 0;
  let points = 0;
  // Rep 0 warms up (resvg's worker and fonts) and is discarded.
  for (let rep = 0; rep <= reps; rep++) {
    const t0 = performance.now();
    const plot = recorder.plotLosses();
    const t1 = performance.now();
    const png = await plot.png();
    const t2 = performance.now();
    if (rep > 0) {
      svgMs.push(t1 - t0);
      pngMs.push(t2 - t1);
    }
    svgBytes = Buffer.byteLength(plot.svg);
    pngBytes = png.byteLength;
    // Vertices drawn: the numbers in the path data of the polylines / paths.
    points = (plot.svg.match(/-?\d+(?:\.\d+)?,-?\d+(?:\.\d+)?/g) ?? []).length;
    progress(`plot ${rep === 0 ? 'warm-up' : `rep ${rep}/${reps}`}: svg ${(t1 - t0).toFixed(0)} ms, png ${(t2 - t1).toFixed(0)} ms`);
  }
  const rows = [
    [
      `${PLOT_BATCHES.toLocaleString('en-US')} batches, ${EPOCHS} epochs`,
      fmt(median(svgMs), 1),
      fmt(median(pngMs), 1),
      fmt(median(svgMs.map((s, i) => s + (pngMs[i] as number))), 1),
      (svgBytes / 1024).toFixed(1),
      (pngBytes / 1024).toFixed(1),
      String(points),
    ],
  ];
  return [
    `recorder.plotLosses() then await plot.png() (800 px wide, resvg off the main thread); median of ${reps} after a warm-up`,
    '',
    table(['losses', 'plotLosses() ms', 'png() ms', 'total ms', 'SVG KiB', 'PNG KiB', 'x,y pairs in the SVG'], rows, 1),
  ].join('\n');
}
