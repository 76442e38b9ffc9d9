import { createServer, type AddressInfo, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { SimState, AppRight } from '../state.js';
import { checkDownlink } from './downlink.js';

/** What an MQTT connection authenticated as: an application and its access key's rights. */
interface Session {
  appId: string;
  rights: AppRight[];
}

export interface Broker {
  url: string;
  /** publishes as the network (bypasses client authorization) */
  publish(topic: string, payload: unknown): void;
  /** publishes these bytes as they are, as the network: for messages TTN would never send */
  publishRaw(topic: string, payload: Buffer): void;
  close(): Promise<void>;
}

function authError(message: string, returnCode: 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

const DOWN_TOPIC = /^([^/]+)\/devices\/([^/]+)\/down$/;
const KEPT = 10_000;

/** Appends to a list that keeps its last 10,000 entries. */
function keepLast<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > KEPT) list.splice(0, list.length - KEPT);
}

/**
 * TTN's MQTT broker: username = application id, password = an access key of that
 * application with `messages:up:r`. A client subscribes only under `<AppID>/` and
 * publishes only downlinks `<AppID>/devices/<DevID>/down` (with `messages:down:w`).
 * Valid downlinks are recorded in the state and announced on `…/events/down/scheduled`;
 * invalid ones are dropped, recorded with the reason, and (when JSON) reported on
 * `…/events/down/errors`.
 */
export async function startBroker(state: SimState, host: string, port: number): Promise<Broker> {
  const sessions = new WeakMap<Client, Session>();
  const broker = await Aedes.createBroker({
    // Messages being written to subscribers at once (aedes: 100). A subscriber that stops
    // reading holds its messages' slots until its socket drains; with few slots every other
    // subscriber waited too, and the queue behind them (an array shifted one message at a time)
    // took the simulator's CPU once it reached tens of thousands.
    concurrency: 100_000,
    authenticate(client, username, password, done) {
      const found = password ? state.findAccessKey(password.toString('utf8')) : undefined;
      if (!username || !found || found.app.id !== username) {
        return done(authError('bad username or password', 4), null);
      }
      if (!found.key.rights.includes('messages:up:r')) {
        return done(authError('the access key lacks messages:up:r', 5), null);
      }
      sessions.set(client, { appId: username, rights: found.key.rights });
      done(null, true);
    },
    authorizeSubscribe(client, subscription, callback) {
      const session = sessions.get(client);
      const first = subscription.topic.split('/')[0];
      if (!session || first !== session.appId) return callback(null, null);
      callback(null, subscription);
    },
    authorizePublish(client, packet, callback) {
      if (!client) return callback(null);
      const session = sessions.get(client);
      const match = DOWN_TOPIC.exec(packet.topic);
      if (!session || !match || match[1] !== session.appId) {
        return callback(new Error(`publishing to ${packet.topic} is not allowed`));
      }
      if (!session.rights.includes('messages:down:w')) {
        return callback(new Error('the access key lacks messages:down:w'));
      }
      const devId = match[2] ?? '';
      const check = checkDownlink(state, session.appId, devId, Buffer.from(packet.payload));
      const time = new Date().toISOString();
      if (!check.ok) {
        // TTN's handler dropped a bad downlink; one that was JSON it reported on the device's
        // downlink error topic. The simulator also keeps it for `GET /_sim/downlinks/rejected`.
        keepLast(state.rejectedDownlinks, {
          appId: session.appId,
          devId,
          topic: packet.topic,
          payload: check.payload,
          time,
          reason: check.reason,
        });
        // The broker takes the message either way (TTN's did: the handler behind it judged it).
        callback(null);
        if (check.parsed) {
          setImmediate(() =>
            publish(`${session.appId}/devices/${devId}/events/down/errors`, {
              error: check.reason,
            }),
          );
        }
        return;
      }
      keepLast(state.downlinks, {
        appId: session.appId,
        devId,
        topic: packet.topic,
        payload: check.payload,
        time,
      });
      callback(null);
      // TTN announced the downlink as scheduled on the device's event topic.
      setImmediate(() =>
        publish(`${session.appId}/devices/${devId}/events/down/scheduled`, check.payload),
      );
    },
  });

  // TCP_NODELAY, as TTN's broker (Go, which sets it on every connection) had: with Nagle's
  // algorithm a small publish waits for the previous one's ACK, which Linux delays ~40 ms.
  const server: Server = createServer({ noDelay: true }, broker.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  const onDevice = ({
    kind,
    device,
  }: {
    kind: string;
    device: { app_id: string; dev_id: string };
  }) => publish(`${device.app_id}/devices/${device.dev_id}/events/${kind}`, {});
  state.events.on('device', onDevice);

  function publish(topic: string, payload: unknown): void {
    publishRaw(topic, Buffer.from(JSON.stringify(payload)));
  }

  function publishRaw(topic: string, payload: Buffer): void {
    broker.publish(
      {
        cmd: 'publish',
        topic,
        payload,
        qos: 0,
        retain: false,
        dup: false,
      },
      () => undefined,
    );
  }

  return {
    url: `mqtt://${urlHost}:${address.port}`,
    publish,
    publishRaw,
    close: async () => {
      state.events.off('device', onDevice);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
