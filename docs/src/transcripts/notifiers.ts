import type { Transcript } from '../transcripts.js';

export const NOTIFIERS_TRANSCRIPTS: readonly Transcript[] = [];
