import type { Transcript } from '../transcripts.js';

export const CLI_TRANSCRIPTS: readonly Transcript[] = [];
