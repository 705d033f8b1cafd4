import type { Transcript } from '../transcripts.js';

export const SWEEP_TRANSCRIPTS: readonly Transcript[] = [];
