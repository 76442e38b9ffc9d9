import type { Faults } from './faults.js';
import type { Signer } from './keys.js';
import type { RequestLog } from './requests.js';
import type { Settings, SimState } from './state.js';
import type { Traffic } from './mqtt/traffic.js';
import type { Seed } from './seed.js';

/** Everything the simulator's servers share. */
export interface Sim {
  state: SimState;
  signer: Signer;
  faults: Faults;
  log: RequestLog;
  traffic: Traffic;
  /** publishes bytes as they are on the broker (a no-op before it listens) */
  publishRaw(topic: string, payload: Buffer): void;
  /** the seed loaded at start; `/_sim/reset` goes back to it */
  seed?: Seed;
  /** settings at start (options and seed); `/_sim/reset` restores them */
  baseSettings: Settings;
  /** the URLs, once the servers listen */
  accountUrl: string;
  handlerUrl: string;
  mqttUrl: string;
}
