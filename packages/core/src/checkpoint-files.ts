/**
 * A checkpoint directory's files, written so that a crash at any moment leaves a complete
 * checkpoint behind: the new files go into a temporary directory beside the target (same file
 * system, so renames are atomic), each flushed to disk; then the old checkpoint is renamed aside to
 * `<dir>.previous`, the new one renamed into place, and the old one removed. A crash between the two
 * renames leaves no `<dir>` but a complete `<dir>.previous`, which `readCheckpointFiles` then reads.
 * One writer per checkpoint directory at a time.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from './errors.js';

/** The file every checkpoint has, written last into the temporary directory: it marks a checkpoint. */
export const MARKER_FILE = 'learner.json';

/**
 * A seam for the crash tests only (not exported from the package): called after each step of a
 * save, `wrote <file>`, `moved aside` and `swapped`, so a test can kill the process right there.
 */
export const checkpointSteps: { after?: ((step: string) => void) | undefined } = {};

export function previousDirOf(dir: string): string {
  return `${dir}.previous`;
}

const TEMP_INFIX = '.saving-';

/** Writes `files` as the directory `dir`, replacing the checkpoint there atomically. */
export async function writeCheckpointFiles(dir: string, files: ReadonlyMap<string, Uint8Array | string>): Promise<void> {
  const target = path.resolve(dir);
  const previous = previousDirOf(target);
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  await checkReplaceable(target);
  await removeStaleTemps(target);
  const temp = `${target}${TEMP_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.promises.mkdir(temp);
  try {
    // The marker last: a directory holding it holds everything else.
    const names = [...files.keys()].sort((a, b) => Number(a === MARKER_FILE) - Number(b === MARKER_FILE));
    for (const name of names) {
      await writeDurably(path.join(temp, name), files.get(name) as Uint8Array | string);
      checkpointSteps.after?.(`wrote ${name}`);
    }
    await syncDir(temp);
    // `previous` may be the only complete copy (an earlier save crashed between the renames): it
    // goes only once `target` holds a complete checkpoint again.
    if (await exists(target)) {
      await fs.promises.rm(previous, { recursive: true, force: true });
      await fs.promises.rename(target, previous);
      checkpointSteps.after?.('moved aside');
    }
    await fs.promises.rename(temp, target);
    await syncDir(path.dirname(target));
    checkpointSteps.after?.('swapped');
  } catch (error) {
    await fs.promises.rm(temp, { recursive: true, force: true });
    throw error;
  }
  await fs.promises.rm(previous, { recursive: true, force: true });
}

/**
 * The directory holding the complete checkpoint saved as `dir`: `dir` itself, or `<dir>.previous`
 * when a save crashed between its renames. Throws a ConfigError naming what is missing.
 */
export async function checkpointDirFor(dir: string): Promise<string> {
  const target = path.resolve(dir);
  if (await exists(path.join(target, MARKER_FILE))) return target;
  const previous = previousDirOf(target);
  if (!(await exists(target)) && (await exists(path.join(previous, MARKER_FILE)))) return previous;
  throw new ConfigError(
    (await exists(target))
      ? `learn.load: ${target} is not an epochcast checkpoint (it has no ${MARKER_FILE}). Pass the directory given to learn.save(dir).`
      : `learn.load: no checkpoint at ${target} (the directory does not exist). Check the path, or save one first with learn.save(dir).`,
  );
}

/** Reads one file of a checkpoint, with an error naming it when it is missing or unreadable. */
export async function readCheckpointFile(dir: string, name: string): Promise<Buffer> {
  const file = path.join(dir, name);
  try {
    return await fs.promises.readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `learn.load: cannot read ${file} (${code ?? (error as Error).message}): the checkpoint is incomplete. Save it again with learn.save(dir).`,
    );
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A directory that is neither a checkpoint nor empty holds someone's files: never swap it away. */
async function checkReplaceable(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await fs.promises.readdir(target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR')
      throw new ConfigError(`learn.save: ${target} is a file, not a directory. Pass a directory path such as './checkpoints/run1'.`);
    throw error;
  }
  if (entries.length > 0 && !entries.includes(MARKER_FILE))
    throw new ConfigError(
      `learn.save: ${target} already holds files and is not an epochcast checkpoint (no ${MARKER_FILE}); saving would replace them. Pass an empty or new directory.`,
    );
}

/** Temporary directories left by saves that crashed before their swap. */
async function removeStaleTemps(target: string): Promise<void> {
  const prefix = `${path.basename(target)}${TEMP_INFIX}`;
  const siblings = await fs.promises.readdir(path.dirname(target));
  await Promise.all(
    siblings
      .filter((name) => name.startsWith(prefix))
      .map((name) => fs.promises.rm(path.join(path.dirname(target), name), { recursive: true, force: true })),
  );
}

async function writeDurably(file: string, data: Uint8Array | string): Promise<void> {
  const handle = await fs.promises.open(file, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a directory's entries (its renames) durable; a no-op where directories cannot be opened (Windows). */
async function syncDir(dir: string): Promise<void> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(dir, 'r');
    await handle.sync();
  } catch {
    // Best effort: the rename itself is atomic either way.
  } finally {
    await handle?.close();
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.access(p);
    return true;
  } catch {
    return false;
  }
}
