/**
 * Checks the shell commands of a `<!-- commands -->` block against the repository: an `epochcast`
 * command line must parse with the real CLI's flags, a `pnpm` script must exist, `npm install` must
 * name our packages with the peers they need, a `node` file must be one the build writes, and a
 * variable must be one the code reads. A command of a kind this file does not know is a problem
 * too, so a new kind of command gets a check before it gets into the docs.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type CliIo, createProgram } from '@epochcast/cli';
import { type ParseEntry, parse } from 'shell-quote';

/** Scripts and programs that are the reader's own, not ours: anything goes in their arguments. */
const USER_SCRIPTS = /^(train\.(py|js|ts)|python3?|\.\/train\.sh)$/;
/** Programs of the reader's machine the docs may tell them to run. */
const SYSTEM_TOOLS = new Set(['apt-get', 'brew', 'redis-server', 'cd', 'git', 'wait', 'cat', 'tsc', 'open', 'xdg-open', 'ls']);
/** Variables of programs that are not ours, which the docs may set. */
const FOREIGN_VARIABLES = new Set(['PATH', 'NODE_OPTIONS', 'REDIS_SERVER_BIN', 'CI', 'NO_COLOR', 'FORCE_COLOR']);

const TARBALL = /(?:^|\/)epochcast-([a-z-]+)-(\d+\.\d+\.\d+)\.tgz$/;

interface WorkspacePackage {
  name: string;
  version: string;
  /** Its `@epochcast/*` dependencies (not peers). */
  workspaceDependencies: string[];
  dir: string;
  private: boolean;
  scripts: Record<string, string>;
  peers: string[];
  dependencies: Set<string>;
}

export class CommandChecker {
  private readonly packages: WorkspacePackage[];
  private readonly variables: Set<string>;

  constructor(private readonly root: string) {
    this.packages = [
      '.',
      ...['packages', 'examples'].flatMap((d) => readdirSync(path.join(root, d)).map((p) => `${d}/${p}`)),
      'bench',
      'docs',
    ]
      .filter((dir) => existsSync(path.join(root, dir, 'package.json')))
      .map((dir) => {
        const json = JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')) as {
          name: string;
          version: string;
          private?: boolean;
          scripts?: Record<string, string>;
          peerDependencies?: Record<string, string>;
          peerDependenciesMeta?: Record<string, { optional?: boolean }>;
          dependencies?: Record<string, string>;
          devDependencies?: Record<string, string>;
        };
        const optional = json.peerDependenciesMeta ?? {};
        return {
          name: json.name,
          version: json.version,
          workspaceDependencies: Object.keys(json.dependencies ?? {}).filter((d) => d.startsWith('@epochcast/')),
          dir,
          private: json.private === true,
          scripts: json.scripts ?? {},
          peers: Object.keys(json.peerDependencies ?? {}).filter((p) => !optional[p]?.optional),
          dependencies: new Set([...Object.keys(json.dependencies ?? {}), ...Object.keys(json.devDependencies ?? {})]),
        };
      });
    this.variables = variablesReadByTheCode(root);
  }

  /** The problems of one block's commands, each naming the command. */
  async check(block: string): Promise<string[]> {
    const problems: string[] = [];
    for (const command of simpleCommands(block)) {
      const problem = await this.checkOne(command);
      if (problem) problems.push(`\`${command.join(' ')}\`: ${problem}`);
    }
    return problems;
  }

  private async checkOne(words: string[]): Promise<string | undefined> {
    let argv = words;
    if (argv[0] === 'do') argv = argv.slice(1);
    if (argv[0] === 'for' || argv[0] === 'done') return undefined;
    if (argv[0] === 'export') return this.checkAssignments(argv.slice(1), false);
    const assignments: string[] = [];
    while (argv[0] && /^[A-Za-z_]\w*=/.test(argv[0])) assignments.push(argv.shift() ?? '');
    const [program = '', ...args] = argv;
    // Alone on its line, `T=/path` sets a variable of the shell, for the lines below; not one of ours.
    if (program === '') return undefined;
    const problem = this.checkAssignments(assignments, USER_SCRIPTS.test(args[0] ?? '') || USER_SCRIPTS.test(program));
    if (problem) return problem;
    if (program === 'epochcast') return this.checkEpochcast(args);
    if (program === 'npx') return this.checkNpx(args);
    if (program === 'pnpm') return this.checkPnpm(args);
    if (program === 'npm') return this.checkNpm(args);
    if (program === 'node') return this.checkNode(args);
    if (USER_SCRIPTS.test(program) || SYSTEM_TOOLS.has(program)) return undefined;
    return `"${program}" is a command docs/src/commands.ts does not know: add a check for it`;
  }

  private checkAssignments(assignments: string[], forUserScript: boolean): string | undefined {
    for (const assignment of assignments) {
      const name = assignment.split('=')[0] ?? '';
      if (!forUserScript && !this.variables.has(name) && !FOREIGN_VARIABLES.has(name))
        return `no package reads the variable ${name} (a typo, or one that was renamed?)`;
    }
    return undefined;
  }

  private checkNpx(args: string[]): Promise<string | undefined> | string | undefined {
    const [what = '', ...rest] = args;
    if (/^pnpm@\d+\.\d+\.\d+$/.test(what)) {
      const pinned = (JSON.parse(readFileSync(path.join(this.root, 'package.json'), 'utf8')) as { packageManager: string }).packageManager;
      if (pinned !== what) return `the repository pins ${pinned}, not ${what}`;
      return this.checkPnpm(rest);
    }
    if (what === 'epochcast') return this.checkEpochcast(rest);
    return `npx ${what}: not a command of this repository`;
  }

  private async checkPnpm(args: string[]): Promise<string | undefined> {
    const [verb = '', ...rest] = args;
    if (verb === 'install' || verb === 'i')
      return rest.every((a) => a === '--frozen-lockfile' || a === '--offline') ? undefined : 'pnpm install takes no packages here';
    if (verb === 'exec' || verb === 'epochcast') return verb === 'exec' ? this.checkExec(rest) : this.checkEpochcast(rest);
    if (verb === '--filter' || verb === '-F') {
      const [name = '', script = ''] = rest;
      const pkg = this.packages.find((p) => p.name === name);
      if (!pkg) return `no workspace package is named ${name}`;
      if (script === 'exec') return this.checkExec(rest.slice(2));
      return pkg.scripts[script === 'run' ? (rest[2] ?? '') : script] !== undefined ? undefined : `${name} has no script "${script}"`;
    }
    const script = verb === 'run' ? (rest[0] ?? '') : verb;
    return this.packages[0]?.scripts[script] !== undefined ? undefined : `the root package.json has no script "${script}"`;
  }

  private async checkExec(args: string[]): Promise<string | undefined> {
    const [bin = '', ...rest] = args;
    if (bin === 'epochcast') return this.checkEpochcast(rest);
    if (bin === 'vitest') {
      const missing = rest.filter((a) => !a.startsWith('-') && a !== 'run').find((p) => !existsSync(path.join(this.root, p)));
      return missing ? `vitest is given ${missing}, which does not exist` : undefined;
    }
    return `pnpm exec ${bin}: not a command of this repository`;
  }

  private checkNpm(args: string[]): string | undefined {
    const [verb = '', ...rest] = args;
    if (verb === 'test' || (verb === 'run' && rest.length === 1)) return undefined;
    if (verb !== 'install' && verb !== 'i') return `npm ${verb}: not a command the docs should need`;
    const installs: string[] = [];
    for (const arg of rest.filter((a) => !a.startsWith('-'))) {
      if (!arg.endsWith('.tgz')) {
        installs.push(arg);
        continue;
      }
      const [, name = '', version = ''] = TARBALL.exec(arg) ?? [];
      const ours = this.packages.find((p) => p.name === `@epochcast/${name}` && !p.private);
      if (!ours) return `${arg} is not a tarball that pnpm pack:all writes (epochcast-<package>-<version>.tgz)`;
      if (ours.version !== version) return `${arg}: ${ours.name} is at version ${ours.version}`;
      installs.push(ours.name);
    }
    // A tarball's @epochcast dependencies are not on the registry either: they need theirs.
    const fromTarballs = rest.some((a) => a.endsWith('.tgz'));
    // What the registry brings along: `@tensorflow/tfjs` brings `@tensorflow/tfjs-core`; ours count as listed only.
    const provided = new Set(installs.flatMap((n) => [n, ...(n.startsWith('@epochcast/') ? [] : this.dependenciesOf(n))]));
    for (const name of installs) {
      const ours = this.packages.find((p) => p.name === name);
      if (name.startsWith('@epochcast/')) {
        if (!ours || ours.private) return `${name} is not a package this repository publishes`;
        const missing = ours.peers.filter((peer) => !provided.has(peer));
        if (missing.length) return `${name} needs its peer ${missing.join(', ')} installed too`;
        const unpublished = fromTarballs ? ours.workspaceDependencies.filter((d) => !provided.has(d)) : [];
        if (unpublished.length) return `${name} needs the tarball of its dependency ${unpublished.join(', ')} too`;
      } else if (!this.packages.some((p) => p.dependencies.has(name))) {
        return `${name} is no dependency of any package here`;
      }
    }
    return undefined;
  }

  /** The dependencies of an installed package (`@tensorflow/tfjs` brings `@tensorflow/tfjs-core`). */
  private dependenciesOf(name: string): string[] {
    const manifest = path.join(this.root, 'node_modules', name, 'package.json');
    if (!existsSync(manifest)) return [];
    return Object.keys((JSON.parse(readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> }).dependencies ?? {});
  }

  private checkNode(args: string[]): string | undefined {
    const [file = ''] = args;
    if (USER_SCRIPTS.test(file)) return undefined;
    if (!existsSync(path.join(this.root, file))) return `${file} does not exist (after pnpm build)`;
    return undefined;
  }

  /** Parses the arguments with the CLI's own program, stopping before any command runs. */
  private async checkEpochcast(args: string[]): Promise<string | undefined> {
    let errors = '';
    const io: CliIo = { out: () => {}, err: (text) => (errors += text), env: {} };
    const program = createProgram(io);
    const parsed = new Error('parsed');
    program.hook('preAction', () => {
      throw parsed;
    });
    try {
      await program.parseAsync(args, { from: 'user' });
    } catch (error) {
      if (error === parsed) return undefined;
      const code = (error as { exitCode?: unknown }).exitCode;
      if (code === 0) return undefined; // --help
      return `epochcast does not accept it: ${errors.trim() || String(error)}`;
    }
    return 'epochcast ran no command';
  }
}

/** The simple commands of a block: comments, prompts (`$ `), continuations and redirections removed. */
export function simpleCommands(block: string): string[][] {
  const text = block
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.replace(/^\s*\$ /, ''))
    .join('\n');
  const commands: string[][] = [];
  for (const line of text.split('\n')) {
    let current: string[] = [];
    const entries: ParseEntry[] = parse(line, (name) => `$${name}`);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (typeof entry === 'string') current.push(entry);
      else if (entry && 'op' in entry) {
        if (/^[<>]/.test(entry.op) || entry.op === '>&') {
          // A redirection: drop its file (and the fd number before it).
          if (/^\d$/.test(current.at(-1) ?? '')) current.pop();
          i++;
          continue;
        }
        if (current.length) commands.push(current);
        current = [];
      }
    }
    if (current.length) commands.push(current);
  }
  return commands;
}

/** Upper-case names the packages' and examples' sources read from `env` or quote: the variables the code reads. */
function variablesReadByTheCode(root: string): Set<string> {
  const names = new Set<string>();
  const visit = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === 'node_modules' || entry.name === 'dist') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(full, 'utf8');
        // `env.LR`, `env['LR']`, `envNumber('LR', …)`: a quoted upper-case name is a variable read.
        for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b|['"]([A-Z][A-Z0-9_]+)['"]/g)) names.add(m[1] ?? m[2] ?? '');
      }
    }
  };
  for (const top of ['packages', 'examples'])
    for (const pkg of readdirSync(path.join(root, top))) {
      const src = path.join(root, top, pkg, 'src');
      if (existsSync(src)) visit(src);
    }
  return names;
}
