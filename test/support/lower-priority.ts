// Runs before every test file except the sweeps (vitest.config.ts). Those files' processes yield
// the CPU to the sweep scenarios running beside them, whose timers must wake on time for the pacing
// they assert; everything spawned from here inherits the lower priority.
import { setPriority } from 'node:os';

setPriority(10);
