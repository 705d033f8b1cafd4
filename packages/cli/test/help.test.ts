// --help on every command, and usage errors, from the built binary.
import { expect, test } from 'vitest';
import { cli } from './helpers.js';

test('--help on every command: exit 0, usage on stdout', async () => {
  const cases: [string[], RegExp[]][] = [
    [
      [],
      [/Usage: epochcast \[options\] \[command\]/, /demo \[options\]/, /run \[options\] \[command\.\.\.\]/, /test \[options\]/, /telegram/],
    ],
    [['demo'], [/Usage: epochcast demo \[options\]/, /--out <dir>/, /TELEGRAM_BOT_TOKEN/]],
    [
      ['run'],
      [
        /Usage: epochcast run \[--telegram\] \[--slack\] \[--email\] \[--ntfy\] \[--webhook <url>\] \[--name <name>\] \[--stall <duration>\] -- <command…>/,
        /--webhook <url>/,
        /--name <name>/,
        /128 \+ the signal number/,
        /--pass-env <names>/,
        /--kill-after <seconds>/,
        /environment has no TELEGRAM_\*, SLACK_\*, SMTP_URL, NTFY_\* or EPOCHCAST_\*/,
      ],
    ],
    [['test'], [/Usage: epochcast test \[options\]/, /--telegram/, /--slack/, /--email/, /--ntfy/]],
    [['telegram'], [/Usage: epochcast telegram \[options\] \[command\]/, /chats/]],
    [
      ['telegram', 'chats'],
      [/Usage: epochcast telegram chats \[options\]/, /--wait <seconds>/],
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => cli([...args, '--help'])));
  results.forEach((r, i) => {
    const [args, patterns] = cases[i] as [string[], RegExp[]];
    expect(r.code, args.join(' ')).toBe(0);
    expect(r.stderr).toBe('');
    for (const p of patterns) expect(r.stdout).toMatch(p);
  });
  // The hidden test options stay hidden.
  expect(results[1]?.stdout).not.toMatch(/--epochs|--samples/);
  // `epochcast help run` too.
  const help = await cli(['help', 'run']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/Usage: epochcast run/);
});

test('usage errors are clear and exit 2: no command, unknown command or flag, missing or bad values', async () => {
  const [none, unknownCommand, unknownFlag, missingValue, badValue, noService] = await Promise.all([
    cli([]),
    cli(['demoo']),
    cli(['demo', '--fast']),
    cli(['demo', '--out']),
    cli(['demo', '--epochs', 'two']),
    cli(['test']),
  ]);
  expect(none.code).toBe(2);
  expect(none.stdout).toMatch(/Usage: epochcast/);
  expect(unknownCommand.code).toBe(2);
  expect(unknownCommand.stderr).toMatch(/^epochcast: unknown command 'demoo'\n\(Did you mean demo\?\)/);
  expect(unknownFlag.code).toBe(2);
  expect(unknownFlag.stderr).toMatch(/^epochcast demo: unknown option '--fast'/);
  expect(missingValue.code).toBe(2);
  expect(missingValue.stderr).toMatch(/^epochcast demo: option '--out <dir>' argument missing/);
  expect(badValue.code).toBe(2);
  expect(badValue.stderr).toMatch(
    /^epochcast demo: option '--epochs <n>' argument 'two' is invalid\. expected a whole number from 1 to 100/,
  );
  expect(noService.code).toBe(2);
  expect(noService.stderr).toMatch(/^epochcast test: choose at least one of --telegram --slack --email --ntfy/);
});
