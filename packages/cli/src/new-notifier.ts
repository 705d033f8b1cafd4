/**
 * `epochcast new-notifier <name>`: writes the skeleton of a notifier plugin package,
 * `epochcast-notifier-<name>`, that installs, builds and passes its tests as written, wherever it
 * is written — a working notifier POSTing JSON to a URL, its test wired to `@epochcast/testkit`'s
 * conformance suite against the testkit's local webhook server, and a README. The user then makes
 * `send()` speak their service.
 *
 * Its dev dependencies on @epochcast/* are the packages this CLI runs on, packed into `vendor/`
 * (`file:vendor/….tgz`): that installs before they are published and matches the CLI's version.
 * `--registry` writes semver ranges instead, for once they are on npm.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from './cli-errors.js';
import { type LocalPackage, localPackages, packProblem, type VendoredPackage, vendorPackages } from './local-packages.js';
import type { CliIo } from './program.js';

/** Versions the skeleton depends on: those this repository builds and tests with. */
export const SCAFFOLD_VERSIONS = {
  core: '^0.1.0',
  notify: '^0.1.0',
  testkit: '^0.1.0',
  tfjs: '4.22.0',
  typesNode: '^20.19.43',
  typescript: '5.9.3',
  vitest: '4.1.12',
} as const;

export const PACKAGE_PREFIX = 'epochcast-notifier-';
const NAME = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const MAX_NAME = 40;

export interface NewNotifierOptions {
  /** Where to write the package. Default `./epochcast-notifier-<name>`. */
  dir?: string;
  /** What relative paths are resolved against. Default `process.cwd()`. */
  cwd?: string;
  /** Depend on @epochcast/* from the npm registry (semver ranges), not on packed copies in `vendor/`. */
  registry?: boolean;
  /** A folder of tarballs packed earlier (`pnpm pack:all`) to copy into `vendor/` instead of packing. */
  tarballs?: string;
  /** The folder of @epochcast/cli's package.json, where the packages are resolved from. Default: this CLI's. */
  cliDir?: string;
}

/** The folder of this CLI's package.json (from `dist/` when built, `src/` under vitest). */
const CLI_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** How the skeleton's package.json names each @epochcast dev dependency. */
export type EpochcastDevDependencies = Record<string, string>;

/** The registry's ranges: what `--registry` writes. */
export const REGISTRY_DEPENDENCIES: EpochcastDevDependencies = {
  '@epochcast/core': SCAFFOLD_VERSIONS.core,
  '@epochcast/notify': SCAFFOLD_VERSIONS.notify,
  '@epochcast/testkit': SCAFFOLD_VERSIONS.testkit,
};

/** Why `name` cannot name a notifier, or undefined when it can. */
export function checkNotifierName(name: string): string | undefined {
  if (name.startsWith(PACKAGE_PREFIX))
    return `give the service's name alone: \`epochcast new-notifier ${name.slice(PACKAGE_PREFIX.length) || 'myservice'}\` writes ${name || `${PACKAGE_PREFIX}myservice`}.`;
  if (name.length === 0 || name.length > MAX_NAME || !NAME.test(name))
    return `the name must be 1–${MAX_NAME} lowercase letters, digits and single dashes, starting with a letter (e.g. discord, ms-teams); received ${JSON.stringify(name)}.`;
  return undefined;
}

/** `ms-teams` → `MsTeams`. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** The files of the skeleton for `name` (already checked), by path relative to the package. */
export function notifierFiles(name: string, epochcast: EpochcastDevDependencies = REGISTRY_DEPENDENCIES): Record<string, string> {
  const cls = `${pascal(name)}Callback`;
  const env = name.toUpperCase().replaceAll('-', '_');
  const pkg = `${PACKAGE_PREFIX}${name}`;
  const v = SCAFFOLD_VERSIONS;
  const packageJson = {
    name: pkg,
    version: '0.1.0',
    description: `${cls}: epochcast training notifications to ${name}`,
    keywords: ['epochcast', 'epochcast-notifier', name],
    type: 'module',
    license: 'MIT',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
    main: './dist/index.js',
    types: './dist/index.d.ts',
    files: ['dist', 'src', 'README.md'],
    engines: { node: '>=20.19' },
    scripts: { build: 'tsc -p .', test: 'vitest run', prepublishOnly: 'tsc -p . && vitest run' },
    peerDependencies: { '@epochcast/core': v.core, '@epochcast/notify': v.notify },
    devDependencies: {
      ...epochcast,
      '@tensorflow/tfjs': v.tfjs,
      '@tensorflow/tfjs-core': v.tfjs,
      '@types/node': v.typesNode,
      typescript: v.typescript,
      vitest: v.vitest,
    },
  };
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      lib: ['ES2023'],
      types: ['node'],
      strict: true,
      noUncheckedIndexedAccess: true,
      noImplicitOverride: true,
      verbatimModuleSyntax: true,
      isolatedModules: true,
      skipLibCheck: true,
      declaration: true,
      sourceMap: true,
      rootDir: 'src',
      outDir: 'dist',
    },
    include: ['src'],
  };

  const index = `import {
  ConfigError,
  httpError,
  type Notification,
  Notifier,
  type NotifierLimits,
  type NotifierOptions,
  type SendContext,
  TransientError,
} from '@epochcast/notify';

export interface ${cls}Options extends NotifierOptions {
  /** Where to POST. Default \`${env}_URL\`. */
  url?: string;
  /** Sent as \`Authorization: Bearer <token>\`. Default \`${env}_TOKEN\`. */
  token?: string;
}

/**
 * epochcast training notifications to ${name}: each one POSTed as JSON \`{ text, event, run }\`.
 * Make \`send()\` speak your service's API; the Notifier base of @epochcast/notify does the rest —
 * events, a background queue, coalescing, retries, rate-limit waits, a bounded flush, Ctrl-C,
 * redaction of secrets. Override \`verify()\` to check the configuration before the first epoch.
 */
export class ${cls} extends Notifier {
  readonly service = '${name}';
  readonly limits: NotifierLimits = { maxTextLength: 4000, images: false };
  // Credentials in #private fields: nothing that prints the notifier (console.log, JSON.stringify)
  // can reach them. The base prints only the class, the service and whether it is enabled.
  readonly #url: URL;
  readonly #token: string | undefined;
  // Every request goes through it: it honours the user's proxy (HTTPS_PROXY, NO_PROXY, the proxy
  // option), and built here, a malformed proxy setting fails the constructor.
  readonly #fetch = this.httpFetch;

  constructor(options: ${cls}Options = {}) {
    super(options);
    const url = options.url ?? process.env.${env}_URL;
    if (!url) throw new ConfigError('${cls}: no URL. Pass { url: "https://…" } or set ${env}_URL.');
    if (!URL.canParse(url)) throw new ConfigError(\`${cls}: url is not a valid URL (a string of \${url.length} characters).\`);
    this.#url = new URL(url);
    this.#token = options.token ?? (process.env.${env}_TOKEN || undefined);
    // Never in a warning, an error or a message — of this notifier or any other in the process: the
    // base replaces them by ***.
    this.registerSecret(this.#url.href, this.#url.pathname.length > 1 ? this.#url.pathname : undefined, this.#token);
  }

  protected async send(n: Notification, context: SendContext): Promise<void> {
    // The notification as plain text within limits.maxTextLength; pass a Markup for your service's format.
    const [text = ''] = context.messages();
    const body = JSON.stringify({ text, event: n.event, run: n.run.name });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.#token) headers.authorization = \`Bearer \${this.#token}\`;
    let response: Response;
    try {
      response = await this.#fetch(this.#url, { method: 'POST', headers, body, signal: context.signal });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      throw new TransientError(\`could not reach ${name}\${cause?.code ? \` (\${cause.code})\` : ''}\`);
    }
    await response.body?.cancel();
    // 429 → RateLimitError (Retry-After), 408/5xx → TransientError (retried), 401/403/404 → ConfigRejectedError
    // (nothing more is sent this fit), other 4xx → PermanentError (this message given up).
    if (!response.ok) throw httpError(response.status, response.statusText, Number(response.headers.get('retry-after') ?? Number.NaN));
  }
}
`;

  const conformance = `import { startWebhookServer, type WebhookServer } from '@epochcast/testkit';
import { notifierConformance } from '@epochcast/testkit/conformance';
import { ${cls} } from '../src/index.js';

const TOKEN = '${name}-test-token-4f9a2c';

// The behaviour every epochcast notifier must have, against a local webhook server with faults
// (429, 5xx, 401, hangs, resets, latency). When send() speaks your service's API, start a server
// that speaks it too (a FakeService of @epochcast/testkit) and point the plugin at it.
notifierConformance<WebhookServer>({
  name: '${cls}',
  start: () => startWebhookServer(),
  notifier: (server, options) => new ${cls}({ ...options, url: \`\${server.url}/hook\`, token: TOKEN }),
  delivered: (server) => server.received.filter((r) => r.status === 200).map((r) => r.rawBody),
  attempts: (server) => server.received.length,
  secrets: () => [TOKEN],
});
`;

  const unit = `import type { Notification } from '@epochcast/notify';
import { startWebhookServer } from '@epochcast/testkit';
import { expect, test } from 'vitest';
import { ${cls} } from '../src/index.js';

const notification: Notification = {
  event: 'end',
  run: { name: 'my-run', id: 'a1b2c3d4', host: 'gpu-01', rank: 0, startedAt: 0, totalEpochs: 1, schedule: 'constant lr=0.001' },
  history: [{ epoch: 0, totalEpochs: 1, trainLoss: 0.5, validLoss: 0.4, metrics: { accuracy: 0.9 }, lr: 0.001, timeMs: 1000 }],
  metricNames: ['accuracy'],
  durationMs: 1000,
  status: 'completed',
};

test('posts the message as JSON, with the token as a bearer token', async () => {
  const server = await startWebhookServer();
  try {
    const notifier = new ${cls}({ url: \`\${server.url}/hook\`, token: 'secret-token', handleSignals: false });
    const report = await notifier.notify(notification);
    expect(report.delivered).toEqual(['end']);
    const [request] = server.received;
    expect(request?.headers.authorization).toBe('Bearer secret-token');
    expect(request?.body).toMatchObject({ event: 'end', run: 'my-run', text: expect.stringContaining('my-run completed 1 epoch') });
  } finally {
    await server.close();
  }
});

test('without a URL: a ConfigError naming ${env}_URL', () => {
  delete process.env.${env}_URL;
  expect(() => new ${cls}()).toThrow(/${env}_URL/);
});
`;

  const vitestConfig = `import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // tfjs keeps one global engine per process: one process per test file.
    pool: 'forks',
    // The conformance suite waits out real latencies, rate limits and flush bounds.
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
`;

  const vendored = Object.values(epochcast).some((spec) => spec.startsWith('file:'));
  const vendorNote = vendored
    ? `The \`@epochcast/*\` dev dependencies are packed copies in \`vendor/\` (\`file:vendor/….tgz\`), written by
\`epochcast new-notifier\` from the epochcast it ran on, so \`npm install\` needs only the npm registry for
the rest. Once those versions are on npm, depend on \`${SCAFFOLD_VERSIONS.core}\` instead (what
\`epochcast new-notifier --registry\` writes) and delete \`vendor/\`.

`
    : '';
  const readme = `# ${pkg}

\`${cls}\`: [epochcast](https://www.npmjs.com/package/@epochcast/core) training notifications to ${name}.

\`\`\`sh
npm install ${pkg} @epochcast/notify @epochcast/core @tensorflow/tfjs
\`\`\`

\`\`\`ts
import { Learner } from '@epochcast/core';
import { ${cls} } from '${pkg}';

// ${env}_URL=https://… (and ${env}_TOKEN when the service wants one)
const learn = new Learner({ model, data, loss: 'categoricalCrossentropy', callbacks: [new ${cls}({ on: ['end', 'error'] })] });
await learn.fitOneCycle(5);
\`\`\`

| option | default | |
|---|---|---|
| \`url\` | \`${env}_URL\` | where the messages are POSTed |
| \`token\` | \`${env}_TOKEN\` | sent as \`Authorization: Bearer <token>\`; never printed |

and the options every notifier shares (the README of \`@epochcast/notify\` has them all): \`on\`,
\`every\`, \`minIntervalMs\`, \`runName\`, \`retries\`, \`timeoutMs\`, \`flushTimeoutMs\`, \`handleSignals\`,
\`enabled\`, \`logger\`.

## Developing

\`\`\`sh
npm install
npm test          # the conformance suite of @epochcast/testkit, against a local webhook server
npm run build     # dist/
\`\`\`

${vendorNote}As generated, the plugin POSTs \`{ text, event, run }\` as JSON to a URL. To make it speak your
service: set \`limits\` to what the service accepts; render the notification for it in \`send()\`
(\`context.messages(markup)\` with a \`Markup\` for its format, or the render kit's \`headline\`,
\`epochTable\`… from \`@epochcast/notify\`); throw \`RateLimitError\`, \`TransientError\`,
\`PermanentError\` or \`ConfigRejectedError\` (or \`httpError(status, …)\`) by what it answers; check
the token in \`verify()\` before the first epoch; and point the conformance test at a local server
that speaks the same API (a \`FakeService\` of \`@epochcast/testkit\`). The guide, "Writing a
notifier" (\`docs/writing-a-notifier.md\` in the epochcast repository), walks through all of it.

## Publishing

Keep the name \`epochcast-notifier-${name}\` and the keyword \`epochcast-notifier\` so users can find
it, and \`@epochcast/core\` and \`@epochcast/notify\` as peer dependencies (the user's copies are the
ones training runs on). Then \`npm publish\` (\`prepublishOnly\` builds and tests first).
`;

  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'tsconfig.json': `${JSON.stringify(tsconfig, null, 2)}\n`,
    'vitest.config.ts': vitestConfig,
    'src/index.ts': index,
    'test/conformance.test.ts': conformance,
    'test/index.test.ts': unit,
    'README.md': readme,
    '.gitignore': 'node_modules/\ndist/\n',
  };
}

const WHERE = 'epochcast new-notifier';

/**
 * Runs `epochcast new-notifier <name>`; resolves to the exit code: 0 written; 2 a bad name, a
 * --dir that cannot be written to (a file, a folder that is not empty) or a --tarballs folder
 * without the tarballs; 1 when the packages could not be packed. Nothing is written unless 0.
 */
export async function newNotifier(io: CliIo, name: string, options: NewNotifierOptions = {}): Promise<number> {
  const problem = checkNotifierName(name);
  if (problem) {
    io.err(`${WHERE}: ${problem}\n`);
    return EXIT.usage;
  }
  const cwd = options.cwd ?? process.cwd();
  const dir = path.resolve(cwd, options.dir ?? `${PACKAGE_PREFIX}${name}`);
  const shown = path.relative(cwd, dir) || '.';
  let existing: string[] | undefined;
  try {
    existing = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') {
      const why = code === 'ENOTDIR' ? 'it is a file' : (error as Error).message;
      io.err(`${WHERE}: cannot write to ${shown}: ${why}; nothing written. Choose another place with --dir.\n`);
      return EXIT.usage;
    }
  }
  if (existing !== undefined && existing.length > 0) {
    io.err(`${WHERE}: ${shown} already exists and is not empty; nothing written. Choose another place with --dir.\n`);
    return EXIT.usage;
  }
  const tarballs = options.tarballs === undefined ? undefined : path.resolve(cwd, options.tarballs);
  let local: LocalPackage[] = [];
  if (!options.registry) {
    local = await localPackages(options.cliDir ?? CLI_DIR);
    const cannot = await packProblem(local, tarballs);
    if (cannot) {
      io.err(`${WHERE}: ${cannot} Nothing written.\n`);
      // A --tarballs folder without them is a flag to fix; pnpm missing is this machine's lack.
      return tarballs !== undefined ? EXIT.usage : EXIT.failed;
    }
  }

  let vendored: VendoredPackage[] = [];
  if (local.length > 0) {
    const vendorDir = path.join(dir, 'vendor');
    await mkdir(vendorDir, { recursive: true });
    try {
      vendored = await vendorPackages(local, vendorDir, tarballs);
    } catch (error) {
      // Leave the place as it was: absent, or empty.
      await rm(existing === undefined ? dir : vendorDir, { recursive: true, force: true });
      io.err(`${WHERE}: could not pack the @epochcast packages: ${(error as Error).message}\nNothing written.\n`);
      return EXIT.failed;
    }
  }
  const dependencies =
    vendored.length > 0 ? Object.fromEntries(vendored.map((p) => [p.name, `file:vendor/${p.tarball}`])) : REGISTRY_DEPENDENCIES;
  const files = notifierFiles(name, dependencies);
  for (const [file, text] of Object.entries(files)) {
    const target = path.join(dir, file);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, text, { flag: 'wx' });
  }
  const cls = `${pascal(name)}Callback`;
  io.out(
    [
      `Wrote ${PACKAGE_PREFIX}${name} (${cls}) in ${shown}/:`,
      ...Object.keys(files).map((file) => `  ${file}`),
      ...vendored.map((p) => `  vendor/${p.tarball}  (${p.name} ${p.version}: ${p.how})`),
      '',
      vendored.length > 0
        ? 'Its @epochcast dev dependencies are the tarballs in vendor/ (file:vendor/…), packed from the epochcast this command ran on;\n' +
          'everything else comes from the npm registry. Once @epochcast/* are published, --registry writes version ranges instead.'
        : `Its @epochcast dev dependencies come from the npm registry (${SCAFFOLD_VERSIONS.core}).`,
      '',
      'Next:',
      `  cd ${shown}`,
      '  npm install',
      '  npm test        # the notifier conformance suite, against a local webhook server',
      '',
      "Then make send() in src/index.ts speak your service's API; the guide: docs/writing-a-notifier.md in the epochcast repository.",
      '',
    ].join('\n'),
  );
  return EXIT.ok;
}
