/**
 * Several runs share one bot: the leader's poller receives every command and forwards each to the
 * run it names. This module is the shared vocabulary: which commands address a run, how a run is
 * selected from what the user typed, what the buttons carry, and the messages forwarded to a run.
 */
import type { RunRecord, ScopeMessage } from '@epochcast/notify';

/** Commands aimed at one run; with several runs active they take a selector (`/status 3f2a`). */
export const RUN_COMMANDS = ['status', 'plot', 'stop', 'lr', 'quiet', 'verbose'] as const;
export type RunCommand = (typeof RUN_COMMANDS)[number];

export function isRunCommand(name: string): name is RunCommand {
  return (RUN_COMMANDS as readonly string[]).includes(name);
}

/** What identifies a chat and its kind, as forwarded (the whole Chat is not needed). */
export interface ChatRef {
  id: number;
  type: string;
}

/** Who sent a command or pressed a button: the id decides what they may do, the names only label them. */
export interface UserRef {
  id: number;
  first_name: string;
  last_name?: string;
  username?: string;
}

/** A command forwarded by the leader to the run it selected. */
export interface ForwardedCommand {
  kind: 'command';
  command: RunCommand;
  /** What follows the selector (`/lr 3f2a 3e-4` → `3e-4`). */
  args: string;
  chat: ChatRef;
  /** The sender; undefined for a message without one (a post on behalf of a channel). */
  from: UserRef | undefined;
  /** The message to answer (the command, or the run picker it came through). */
  replyTo: number | undefined;
  /** The forum topic the command was sent in: the answer goes there too. */
  threadId?: number;
}

/** A press on one of the run's own buttons (the Yes/No of /stop), forwarded by the leader. */
export interface ForwardedButton {
  kind: 'button';
  queryId: string;
  data: string;
  chat: ChatRef;
  messageId: number;
  from: UserRef;
}

export type Forwarded = ForwardedCommand | ForwardedButton;

// What an honest leader forwards is bounded by Telegram: 4096 characters of message text, 64 bytes
// of callback_data. Arguments get a generous 64 KiB all the same (a self-hosted Bot API server may
// differ); what matters is that nothing longer reaches a parser.
const MAX_FORWARDED_ARGS = 64 * 1024;
const MAX_BUTTON_DATA = 64;
const MAX_NAME = 256;

/** The chat of a Telegram update, as forwarded. */
export function chatRef(chat: { id: number; type: string }): ChatRef {
  return { id: chat.id, type: chat.type };
}

/** The sender of a Telegram update, as forwarded. */
export function userRef(user: UserRef): UserRef {
  return {
    id: user.id,
    first_name: user.first_name,
    ...(user.last_name ? { last_name: user.last_name } : {}),
    ...(user.username ? { username: user.username } : {}),
  };
}

/** A forwarded message as received from another process: checked field by field, never trusted. */
export function parseForwarded(message: ScopeMessage): Forwarded | undefined {
  const chat = parseChatRef(message.chat);
  if (!chat) return undefined;
  if (message.kind === 'command') {
    const { command, args = '', replyTo, threadId } = message;
    if (typeof command !== 'string' || !isRunCommand(command)) return undefined;
    if (typeof args !== 'string' || args.length > MAX_FORWARDED_ARGS) return undefined;
    if (replyTo !== undefined && !isId(replyTo)) return undefined;
    if (threadId !== undefined && !(isId(threadId) && threadId > 0)) return undefined;
    const from = message.from === undefined ? undefined : parseUserRef(message.from);
    if (message.from !== undefined && !from) return undefined;
    return { kind: 'command', command, args, chat, from, replyTo, ...(threadId !== undefined ? { threadId } : {}) };
  }
  if (message.kind === 'button') {
    const { queryId, data, messageId } = message;
    const from = parseUserRef(message.from);
    if (typeof queryId !== 'string' || queryId.length === 0 || queryId.length > MAX_NAME) return undefined;
    if (typeof data !== 'string' || data.length > MAX_BUTTON_DATA || !isId(messageId) || !from) return undefined;
    return { kind: 'button', queryId, data, chat, messageId, from };
  }
  return undefined;
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value);
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_NAME;
}

function parseChatRef(value: unknown): ChatRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, type } = value as Record<string, unknown>;
  return isId(id) && isName(type) ? { id, type } : undefined;
}

function parseUserRef(value: unknown): UserRef | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { id, first_name, last_name, username } = value as Record<string, unknown>;
  if (!isId(id) || !isName(first_name)) return undefined;
  if ((last_name !== undefined && !isName(last_name)) || (username !== undefined && !isName(username))) return undefined;
  return { id, first_name, ...(last_name ? { last_name } : {}), ...(username ? { username } : {}) };
}

// ---- buttons: the run id travels in the button, so a press acts on that run and no other ------

// Telegram allows 64 bytes of callback_data: `ec:pick:<8 hex>:<command>:<arg>` leaves 40 for the arg.
const PICK = 'ec:pick:';
const STOP = 'ec:stop:';
export const MAX_BUTTON_ARG = 40;

export function pickButtonData(runId: string, command: RunCommand, arg: string): string {
  return `${PICK}${runId}:${command}${arg ? `:${arg.slice(0, MAX_BUTTON_ARG)}` : ''}`;
}

export function stopButtonData(runId: string, nonce: string, answer: 'yes' | 'no'): string {
  return `${STOP}${runId}:${nonce}:${answer === 'yes' ? 'y' : 'n'}`;
}

export type ButtonData =
  | { kind: 'pick'; runId: string; command: RunCommand; arg: string }
  | { kind: 'stop'; runId: string; nonce: string; answer: 'yes' | 'no' };

export function parseButtonData(data: string): ButtonData | undefined {
  if (data.startsWith(PICK)) {
    const [runId = '', command = '', ...rest] = data.slice(PICK.length).split(':');
    if (!isRunCommand(command) || !runId) return undefined;
    return { kind: 'pick', runId, command, arg: rest.join(':') };
  }
  if (data.startsWith(STOP)) {
    const [runId = '', nonce = '', answer = ''] = data.slice(STOP.length).split(':');
    if (!runId || !nonce || (answer !== 'y' && answer !== 'n')) return undefined;
    return { kind: 'stop', runId, nonce, answer: answer === 'y' ? 'yes' : 'no' };
  }
  return undefined;
}

// ---- selecting a run ----------------------------------------------------------------------------

export type Selection =
  | { kind: 'one'; run: RunRecord }
  /** Several runs fit (no selector and several active, or an ambiguous prefix): ask which. */
  | { kind: 'several'; runs: RunRecord[] }
  | { kind: 'none' };

/**
 * The run `selector` names among `runs`: its id (or a unique id prefix of 4+ characters), its exact
 * name, or a unique name prefix (case-insensitive). Without a selector, the only active run.
 */
export function selectRun(runs: readonly RunRecord[], selector: string): Selection {
  const wanted = selector.trim().toLowerCase();
  if (wanted === '') {
    const [only] = runs;
    if (runs.length === 1 && only) return { kind: 'one', run: only };
    return runs.length === 0 ? { kind: 'none' } : { kind: 'several', runs: [...runs] };
  }
  const byId = runs.filter((r) => r.id.toLowerCase() === wanted);
  const byName = runs.filter((r) => r.name.toLowerCase() === wanted);
  for (const exact of [byId, byName]) {
    const [run] = exact;
    if (exact.length === 1 && run) return { kind: 'one', run };
    if (exact.length > 1) return { kind: 'several', runs: exact };
  }
  const prefixed = runs.filter((r) => r.name.toLowerCase().startsWith(wanted) || (wanted.length >= 4 && r.id.startsWith(wanted)));
  const [run] = prefixed;
  if (prefixed.length === 1 && run) return { kind: 'one', run };
  return prefixed.length === 0 ? { kind: 'none' } : { kind: 'several', runs: prefixed };
}

// A decimal number as people type it: 3e-4, 0.001, .5, 1E-3 (no hex, no Infinity, no empty string).
// No two parts can match the same characters (digits, then a dot, then digits, then `e`), so a
// failing match gives up after one pass: it does not backtrack into every way of splitting a long
// run of digits, as `\d+\.?\d*` did.
const DECIMAL = /^\+?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
/** No learning rate needs more characters than this; a longer argument is refused before any pattern sees it. */
export const MAX_NUMBER_LENGTH = 64;

/** `text` as a decimal number, or undefined when it is not one (or is longer than any number needs). */
export function parseDecimal(text: string): number | undefined {
  if (text.length > MAX_NUMBER_LENGTH || !DECIMAL.test(text)) return undefined;
  return Number(text);
}

/**
 * Splits what follows a run command into the run selector and the command's own argument:
 * `/status sweep-2`; `/lr 3e-4` (a number: no selector); `/lr sweep-2`, `/lr sweep-2 3e-4`. A
 * lone word after /lr that names no run is taken as the value, so `/lr abc` is answered as a bad
 * learning rate rather than as an unknown run.
 */
export function splitSelector(command: RunCommand, args: string, runs: readonly RunRecord[]): { selector: string; rest: string } {
  const words = args.trim().split(/\s+/).filter(Boolean);
  const [first = '', ...others] = words;
  if (command !== 'lr') return { selector: first, rest: '' };
  if (words.length === 1 && (parseDecimal(first) !== undefined || selectRun(runs, first).kind === 'none'))
    return { selector: '', rest: first };
  return { selector: first, rest: others.join(' ') };
}
