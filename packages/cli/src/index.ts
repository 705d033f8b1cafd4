// The public API of @epochcast/cli: the program, for embedding and tests. The binary is `epochcast`.

export { type CliIo, createProgram, runCli } from './program.js';
