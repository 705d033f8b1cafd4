/**
 * How late into their slots a paced sender's requests must have arrived, at least, if it gave each
 * its own slot `intervalMs` after the one before: the largest (j − i) × intervalMs − (t_j − t_i)
 * over any two requests i < j. A send may leave late into its slot (a training process's event
 * loop wakes late when the cores are busy) but never early into another's: two requests in one
 * slot make this at least a whole interval, and a sender that does not pace makes it grow with every
 * request. Assert it is at most half an interval: a gap between two neighbours alone is shrunk by
 * the lateness of the first, which says nothing about the pacing.
 */
export function slotLateness(times: readonly number[], intervalMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let late = 0;
  for (let i = 0; i < sorted.length; i++)
    for (let j = i + 1; j < sorted.length; j++) late = Math.max(late, (j - i) * intervalMs - ((sorted[j] ?? 0) - (sorted[i] ?? 0)));
  return late;
}
