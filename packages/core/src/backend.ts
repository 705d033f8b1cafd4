import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { ConfigError } from './errors.js';

export type BackendName = 'tensorflow' | 'wasm' | 'cpu';

export interface BackendChoice {
  /** The backend now active. */
  backend: BackendName;
  /** Faster backends that were tried first, and why each was not used. */
  skipped: { backend: BackendName; reason: string }[];
}

export interface SelectBackendOptions {
  /** Force one backend (also `EPOCHCAST_BACKEND`); its failure is then an error, not a fallback. */
  prefer?: BackendName;
  /** Where to print the one-line report; `false` for silence. Default: stderr. */
  log?: ((line: string) => void) | false;
}

const ORDER: readonly BackendName[] = ['tensorflow', 'wasm', 'cpu'];

/** What to do when a backend asked for by name cannot be used. */
const FIX: Record<BackendName, string> = {
  tensorflow:
    'Install @tensorflow/tfjs-node (npm install @tensorflow/tfjs-node; its install downloads libtensorflow), or leave EPOCHCAST_BACKEND unset to use the fastest backend that works (wasm).',
  wasm: 'Reinstall @tensorflow/tfjs-backend-wasm (a dependency of @epochcast/core), or leave EPOCHCAST_BACKEND unset to fall back to cpu.',
  cpu: 'Leave EPOCHCAST_BACKEND unset to let epochcast choose.',
};

const PACKAGES: Record<BackendName, string | undefined> = {
  tensorflow: '@tensorflow/tfjs-node',
  wasm: '@tensorflow/tfjs-backend-wasm',
  cpu: undefined,
};

/**
 * Activates the fastest tfjs backend that works here: `@tensorflow/tfjs-node` when it can be
 * loaded (it is an optional peer: its install downloads libtensorflow), else the WebAssembly
 * backend (shipped with epochcast), else the pure-JS `cpu` backend. Prints one line saying which.
 */
export async function selectBackend(options: SelectBackendOptions = {}): Promise<BackendChoice> {
  const fromEnv = process.env.EPOCHCAST_BACKEND as BackendName | undefined;
  const prefer = options.prefer ?? (fromEnv || undefined);
  const source = options.prefer ? 'options.prefer' : 'EPOCHCAST_BACKEND';
  if (prefer !== undefined && !ORDER.includes(prefer))
    throw new ConfigError(`selectBackend: unknown backend ${JSON.stringify(prefer)} (from ${source}); use one of ${ORDER.join(', ')}.`);
  const candidates = prefer ? [prefer] : ORDER;
  const skipped: BackendChoice['skipped'] = [];
  for (const backend of candidates) {
    const reason = await tryBackend(backend);
    if (reason === undefined) {
      const choice = { backend, skipped };
      const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
      if (log) log(describeChoice(choice));
      return choice;
    }
    if (prefer)
      throw new ConfigError(`selectBackend: the ${backend} backend (from ${source}) cannot be used here: ${reason}. ${FIX[backend]}`);
    skipped.push({ backend, reason });
  }
  throw new Error(`selectBackend: no tfjs backend could be initialised (${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}).`);
}

export function describeChoice({ backend, skipped }: BackendChoice): string {
  const why = skipped.length ? ` (${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})` : '';
  return `epochcast: tfjs backend ${backend}${why}`;
}

async function tryBackend(backend: BackendName): Promise<string | undefined> {
  const pkg = PACKAGES[backend];
  if (pkg) {
    try {
      createRequire(import.meta.url).resolve(pkg);
    } catch {
      return 'not installed';
    }
  }
  try {
    // A variable specifier: tsc and bundlers must not try to resolve the optional package.
    if (pkg) await import(/* @vite-ignore */ pkg);
    if (!(await tf.setBackend(backend))) return 'failed to initialise';
    await tf.ready();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message.split('\n')[0] ?? message;
  }
}
