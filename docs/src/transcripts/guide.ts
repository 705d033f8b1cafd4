import type { Transcript } from '../transcripts.js';

export const GUIDE_TRANSCRIPTS: readonly Transcript[] = [];
