import type { Callback, HyperParamName } from './callback.js';
import { ConfigError } from './errors.js';
import { ParamScheduler } from './schedules.js';

/**
 * One rule for every pair of things that would set the same hyper-parameter during one fit — two
 * ParamSchedulers on lr, fitOneCycle's schedule and a ReduceLROnPlateau or a ParamScheduler on
 * mom, the LR finder's sweep and a scheduler told to run during it: whichever runs later silently
 * overrides the other, and the run trains with neither schedule. So the fit is refused when it
 * starts, before any hook runs and before the first batch, with a ConfigError naming both, the
 * hyper-parameter and the fix. Callbacks declare what they set in `Callback.setsHyperParams`.
 *
 * The conflict is a property of the fit's arguments alone (which method, which callbacks), so it
 * is checked with them, as an invalid option is: no `onTrainBegin` runs, nor any `onTrainEnd`
 * (a notifier does not announce a run that never started).
 */

/** The fit method's own setter of hyper-parameters: fitOneCycle's one-cycle schedule, lrFind's sweep. */
export interface OwnSchedule {
  readonly callback: Callback;
  /** e.g. `fitOneCycle's one-cycle schedule (one-cycle lrMax=0.003 …)`. */
  readonly label: string;
  /** The fix when the callback named `other` sets one of the same hyper-parameters; `removal` says how to leave it out. */
  fix(other: string, removal: string): string;
}

/** Callbacks of a fit given in one place, for the message: where they came from and how to leave one out. */
export interface GivenCallbacks {
  readonly callbacks: readonly Callback[];
  /** e.g. `attached to the learner`. */
  readonly origin: string;
  /** How to leave out the callback named `name`, e.g. `learn.removeCallback('ParamScheduler')`. */
  removal(name: string): string;
}

export interface FitCallbacks {
  /** The method that starts the fit, prefixing the message: `fit`, `fitOneCycle`, `lrFind`, `tfjsCallback`. */
  readonly where: string;
  readonly own?: OwnSchedule | undefined;
  readonly given: readonly GivenCallbacks[];
}

type Setter = { callback: Callback; own: OwnSchedule; from?: undefined } | { callback: Callback; from: GivenCallbacks; own?: undefined };

/** Throws a ConfigError when two setters of this fit declare the same hyper-parameter. */
export function checkOneSetterEach({ where, own, given }: FitCallbacks): void {
  const setters: Setter[] = own ? [{ callback: own.callback, own }] : [];
  for (const from of given) for (const callback of from.callbacks) setters.push({ callback, from });
  const firstSetter = new Map<HyperParamName, Setter>();
  const visited = new Set<Callback>();
  for (const setter of setters) {
    // The same instance given twice (attached and passed to the fit) runs once: no conflict with itself.
    if (visited.has(setter.callback)) continue;
    visited.add(setter.callback);
    // `?? []`: a fit's `callbacks` option is not checked to extend Callback, and a plain object works.
    for (const param of setter.callback.setsHyperParams ?? []) {
      const first = firstSetter.get(param);
      if (first) throw conflict(where, param, first, setter);
      firstSetter.set(param, setter);
    }
  }
}

function conflict(where: string, param: HyperParamName, first: Setter, second: Setter): ConfigError {
  const name = second.callback.name;
  if (first.own)
    return new ConfigError(
      `${where}: ${describe(second)} and ${first.own.label} would both set ${param}; the schedule sets it before every batch, so one would silently override the other. ${first.own.fix(name, removal(second))}`,
    );
  const firstName = first.callback.name;
  const other = firstName === name ? `another ${name}` : name;
  const bothSchedulers = first.callback instanceof ParamScheduler && second.callback instanceof ParamScheduler;
  const perParam = bothSchedulers
    ? ', or give each its own hyper-parameter: new ParamScheduler({ lr }) and new ParamScheduler({ mom })'
    : '';
  const ways = [...new Set([removal(first), removal(second)])].join(' or ');
  return new ConfigError(
    `${where}: ${describe(first)} and ${describe(second, other)} would both set ${param} during this fit, so one would silently override the other. ` +
      `Keep one of them (${ways})${perParam}.`,
  );
}

function describe(setter: Setter, name = setter.callback.name): string {
  return setter.from ? `${name} (${setter.from.origin})` : name;
}

/** How to leave out a given callback (the fit's own schedule is never the one to leave out: its fix says what to do). */
function removal({ callback, from }: Setter): string {
  return from?.removal(callback.name) ?? callback.name;
}

// ---- the Learner's places and schedules, in the words its messages use -------------------------

/** The Learner's callbacks: those attached to it, and those passed to this fit (`fit(n, { callbacks })`). */
export function learnerCallbacks(attached: readonly Callback[], passed: readonly Callback[]): GivenCallbacks[] {
  return [
    { callbacks: attached, origin: 'attached to the learner', removal: (name) => `learn.removeCallback('${name}')` },
    { callbacks: passed, origin: 'passed to this fit', removal: (name) => `leave ${name} out of this fit's callbacks` },
  ];
}

/**
 * fitOneCycle's ParamScheduler sets lr and mom. As in fastai, whose fit_one_cycle adds its own
 * ParamScheduler for the fit, a user's setter of either would fight it: fastai lets the two fight
 * silently (the later one wins each batch); here the fit is refused, and a callback that sets
 * something else (`setsHyperParams: ['wd']`) is welcome.
 */
export function ownOneCycle(callback: Callback, schedule: string): OwnSchedule {
  return {
    callback,
    label: `fitOneCycle's one-cycle schedule (${schedule})`,
    fix: (other, removal) => `Use learn.fit(epochs, { lr }) with ${other}, or fitOneCycle without it (${removal}).`,
  };
}

/**
 * lrFind's sweep sets the lr. Callbacks sit out the sweep unless they set `runDuringLrFind`, and a
 * ParamScheduler does not set it: the sweep probes the loss at its own lrs with a throwaway
 * optimizer, and a schedule belongs to the fits that follow (fastai's lr_find instead lets a
 * scheduler left in `learn.cbs` fight its LRFinder). One that does run during the sweep and sets
 * the lr would corrupt the curve: refused.
 */
export function ownLrSweep(callback: Callback, schedule: string): OwnSchedule {
  return {
    callback,
    label: `lrFind's sweep (${schedule})`,
    fix: (other, removal) => `Set runDuringLrFind = false on ${other} so it sits out the sweep, or ${removal} before lrFind().`,
  };
}

/**
 * What the run's state calls its schedule: `fit`'s "constant lr=…" is untrue when a ParamScheduler
 * sets the lr every batch, and a notifier (Telegram's /lr) reads it to refuse a change the next
 * batch would undo.
 */
export function scheduleOfFit(schedule: string, callbacks: readonly Callback[]): string {
  if (!schedule.startsWith('constant ')) return schedule;
  const scheduler = callbacks.find((cb) => cb instanceof ParamScheduler && cb.setsHyperParams.includes('lr'));
  return scheduler ? `${scheduler.name} on lr` : schedule;
}
