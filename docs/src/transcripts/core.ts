import type { Transcript } from '../transcripts.js';

export const CORE_TRANSCRIPTS: readonly Transcript[] = [];
