/**
 * A headless Chromium for the e-mail's browser check, with nothing to install by hand: the one that
 * ships inside the npm package `@sparticuz/chromium` (brotli-packed, unpacked to the temp directory on
 * first use; Linux x64 and arm64), else Debian's `/usr/bin/chromium` where it is installed.
 * `CHROMIUM_PATH` picks a browser of your own.
 */
import { existsSync } from 'node:fs';

/** A browser to launch: its binary, its flags, and where it came from (said in the test's output). */
export interface ChromiumBinary {
  executablePath: string;
  args: string[];
  source: string;
}

const DEBIAN_CHROMIUM = '/usr/bin/chromium';

// Without the background-networking flags Chromium keeps trying to reach Google's hosts, which a
// closed network refuses (the machine notes); every candidate gets them.
const QUIET = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The candidates, best first. Each is tried in turn by the caller: one that fails to launch falls through. */
export async function chromiumCandidates(): Promise<ChromiumBinary[]> {
  const found: ChromiumBinary[] = [];
  const own = process.env.CHROMIUM_PATH;
  if (own) found.push({ executablePath: own, args: ['--headless', ...QUIET], source: `CHROMIUM_PATH (${own})` });
  if (process.platform === 'linux') {
    try {
      const { default: packed } = await import('@sparticuz/chromium');
      found.push({ executablePath: await packed.executablePath(), args: [...packed.args, ...QUIET], source: '@sparticuz/chromium' });
    } catch (error) {
      // Not unpackable here (an unusual libc, no room in the temp directory): the next candidate says so if it fails too.
      process.stderr.write(`@sparticuz/chromium is not usable here: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  if (existsSync(DEBIAN_CHROMIUM)) found.push({ executablePath: DEBIAN_CHROMIUM, args: ['--headless', ...QUIET], source: DEBIAN_CHROMIUM });
  return found;
}

/** What to do when no candidate launches. */
export const NO_CHROMIUM =
  'no Chromium could be launched: @sparticuz/chromium (installed with the dev dependencies, Linux only) did not start, and there is no /usr/bin/chromium. ' +
  'Install a Chromium (Debian: apt-get install chromium) or set CHROMIUM_PATH to one.';
