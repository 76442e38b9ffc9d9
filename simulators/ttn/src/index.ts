import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildAccountServer } from './account/server.js';
import type { Sim } from './context.js';
import { Faults } from './faults.js';
import { buildHandlerServer } from './handler/server.js';
import { createSigner } from './keys.js';
import { startBroker, type Broker } from './mqtt/broker.js';
import { Traffic } from './mqtt/traffic.js';
import { RequestLog } from './requests.js';
import { applySeed, readSeed, type Seed } from './seed.js';
import { SimState, type Settings } from './state.js';

export type { Seed } from './seed.js';

export interface SimulatorOptions {
  /** interface to listen on; 127.0.0.1 unless given */
  host?: string;
  /** ports; 0 (the default) = any free port */
  accountPort?: number;
  handlerPort?: number;
  mqttPort?: number;
  /** a seed object, or the path of a seed JSON file */
  seed?: Seed | string;
  /** initial settings (token lifetime, code lifetime, handler rate limit) */
  settings?: Partial<Settings>;
}

export interface RunningSimulator {
  accountUrl: string;
  handlerUrl: string;
  mqttUrl: string;
  close(): Promise<void>;
}

function urlOf(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Starts the account server, handler and MQTT broker in this process. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const state = new SimState();
  Object.assign(state.settings, options.settings ?? {});
  const seed = typeof options.seed === 'string' ? await readSeed(options.seed) : options.seed;
  let broker: Broker | undefined;
  const sim: Sim = {
    state,
    signer: await createSigner(),
    faults: new Faults(),
    log: new RequestLog(),
    traffic: new Traffic(state, () => (topic, payload) => broker?.publish(topic, payload)),
    publishRaw: (topic, payload) => broker?.publishRaw(topic, payload),
    baseSettings: { ...state.settings },
    accountUrl: '',
    handlerUrl: '',
    mqttUrl: '',
  };
  if (seed) {
    sim.seed = seed;
    applySeed(state, seed);
  }

  const account = await buildAccountServer(sim);
  const handler = await buildHandlerServer(sim);
  try {
    await account.listen({ host, port: options.accountPort ?? 0 });
    await handler.listen({ host, port: options.handlerPort ?? 0 });
    broker = await startBroker(state, host, options.mqttPort ?? 0);
  } catch (error) {
    await Promise.allSettled([account.close(), handler.close(), broker?.close()]);
    throw error;
  }
  sim.accountUrl = urlOf(account);
  sim.handlerUrl = urlOf(handler);
  sim.mqttUrl = broker.url;
  const running = broker;

  let closing: Promise<void> | undefined;
  return {
    accountUrl: sim.accountUrl,
    handlerUrl: sim.handlerUrl,
    mqttUrl: sim.mqttUrl,
    close: () => {
      closing ??= (async () => {
        sim.traffic.clear();
        await running.close();
        await Promise.all([account.close(), handler.close()]);
      })();
      return closing;
    },
  };
}
