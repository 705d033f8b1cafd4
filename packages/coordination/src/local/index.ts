/**
 * The one-machine engine: runs of a scope meet at a hub listening on a local socket, and the
 * listening socket is the lock. Whoever binds the address first hosts the hub; everyone (the host's
 * own runs included) is a client of it. When the host process goes away the kernel closes its socket
 * at once, the clients see their connection close and re-join, and one of them hosts the next hub
 * (taking over the dead holder's socket file: nobody answers a connect on it).
 *
 * address.ts says where a scope's hub lives, wire.ts what is said on the socket, hub.ts what the hub
 * does, host.ts who hosts it, membership.ts what a run does.
 */
import { safeWarn } from '../callbacks.js';
import { checkJoin } from '../checked.js';
import type { Coordinator, JoinOptions, Membership } from '../types.js';
import { hubAddress } from './address.js';
import { holdHub } from './host.js';
import { LocalMembership } from './membership.js';

let instance: Coordinator | undefined;

/** This process's one-machine coordinator (one instance per process, so all its runs share each scope's hub). */
export function localCoordinator(): Coordinator {
  instance ??= {
    engine: 'local',
    async join(scope: string, options: JoinOptions): Promise<Membership> {
      const { record, auth, options: kept } = checkJoin(scope, options);
      const address = hubAddress(scope, process.env, safeWarn(options.warn));
      const membership = new LocalMembership(scope, address, kept, record, auth);
      holdHub(address);
      try {
        await membership.start();
      } catch (error) {
        await membership.leave();
        throw error;
      }
      return membership;
    },
  };
  return instance;
}
