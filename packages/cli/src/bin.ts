#!/usr/bin/env node
import { runCli } from './program.js';

// A reader that went away (`epochcast … | head -1`, a closed terminal) makes the next write fail
// with EPIPE or EIO; unhandled, that error would crash epochcast with a stack trace and lose the
// exit code. What cannot be shown is dropped instead.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

process.exitCode = await runCli(process.argv.slice(2));
