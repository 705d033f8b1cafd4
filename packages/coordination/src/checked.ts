import { ConfigError } from '@epochcast/core/errors';
import { ScopeAuth } from './auth.js';
import { ownRecord } from './records.js';
import type { JoinOptions, RunRecord } from './types.js';

/**
 * What every engine takes from the join options once checked: the record as sent, the scope's key
 * if it has one (held where printing it shows nothing), and the other options without the key's
 * bytes, which a membership keeps.
 */
export interface CheckedJoin {
  readonly record: RunRecord;
  readonly auth: ScopeAuth | undefined;
  readonly options: Omit<JoinOptions, 'authKey'>;
}

/** The caller's record and key, checked before any engine is asked: a bad one is a ConfigError naming the fix. */
export function checkJoin(scope: string, options: JoinOptions): CheckedJoin {
  const { authKey, ...rest } = options;
  const checked = ownRecord(options.record);
  if ('error' in checked) throw new ConfigError(`joinScope: the run record is not valid: ${checked.error}.`);
  return { record: checked.record, auth: authKey === undefined ? undefined : new ScopeAuth(authKey, scope), options: rest };
}
