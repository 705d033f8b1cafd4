// The reader of a training command's output for `epochcast run`: events from Keras, tqdm, Lightning,
// fastai and Hugging Face output and from `@epochcast` protocol lines, and the output's tail as shown.

export type { OutputEvent, OutputFormat } from './events.js';
export { TrainingOutputReader, type TrainingOutputReaderOptions } from './reader.js';
