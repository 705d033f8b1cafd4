/**
 * Run records as they cross a process boundary. A record from a peer is read field by field into a
 * fresh object, so that everything downstream (`/runs`, `/status`, the election) gets the declared
 * types or no record at all; this run's own record is trimmed to the same bounds before it is sent,
 * so that an honest record is never refused.
 */
import { isJsonObject } from './json.js';
import type { RunRecord } from './types.js';

/** Longest name, host, status, metric name and thread a record carries, in characters. */
export const RECORD_LIMITS = { name: 200, host: 200, status: 32, metricName: 100, thread: 64 } as const;
/** Run ids: the 8 hex characters epochcast makes, or any short name without separators. */
const RUN_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function isRunId(value: unknown): value is string {
  return typeof value === 'string' && RUN_ID.test(value);
}

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);
const isBoundedString = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max;

/**
 * A peer's record, read: undefined when a required field is missing, of the wrong type or too long;
 * a malformed optional field (status, metric, thread) is left out rather than losing the run.
 */
export function readRunRecord(value: unknown): RunRecord | undefined {
  if (!isJsonObject(value)) return undefined;
  const { id, name, host, pid, startedAt, epoch, totalEpochs, status, metric, thread } = value;
  if (!isRunId(id) || !isBoundedString(name, RECORD_LIMITS.name) || !isBoundedString(host, RECORD_LIMITS.host)) return undefined;
  if (!Number.isSafeInteger(pid) || !isFiniteNumber(startedAt) || !isFiniteNumber(epoch) || !isFiniteNumber(totalEpochs)) return undefined;
  const record: RunRecord = { id, name, host, pid: pid as number, startedAt, epoch, totalEpochs };
  if (isBoundedString(status, RECORD_LIMITS.status)) record.status = status;
  if (isJsonObject(metric) && isBoundedString(metric.name, RECORD_LIMITS.metricName) && isFiniteNumber(metric.value))
    record.metric = { name: metric.name, value: metric.value };
  if (isBoundedString(thread, RECORD_LIMITS.thread)) record.thread = thread;
  return record;
}

/**
 * This run's record as it is sent: strings trimmed to the bounds, a metric that JSON cannot carry
 * (NaN) left out. Undefined, with the reason, when it cannot be a record at all (a bad id).
 */
export function ownRecord(record: RunRecord): { record: RunRecord } | { error: string } {
  const trimmed: RunRecord = {
    ...record,
    name: clip(record.name, RECORD_LIMITS.name),
    host: clip(record.host, RECORD_LIMITS.host),
  };
  if (record.status !== undefined) trimmed.status = clip(record.status, RECORD_LIMITS.status);
  if (record.metric !== undefined)
    if (isFiniteNumber(record.metric.value))
      trimmed.metric = { ...record.metric, name: clip(record.metric.name, RECORD_LIMITS.metricName) };
    else delete trimmed.metric;
  const read = readRunRecord(trimmed);
  if (read) return { record: read };
  return {
    error: isRunId(record.id)
      ? 'pid must be an integer, and startedAt, epoch and totalEpochs finite numbers'
      : `id must be 1 to 64 letters, digits, '.', '_' or '-'; received ${JSON.stringify(String(record.id).slice(0, 80))}`,
  };
}

function clip(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value : String(value);
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
