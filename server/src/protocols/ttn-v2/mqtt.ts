/**
 * TTN v2's MQTT data plane: an application's uplink subscription and downlink publishing.
 * Username = application id, password = an access key (`messages:up:r`; downlinks also need
 * `messages:down:w`).
 *
 * The subscription asks for QoS 1 in a persistent session (`clean: false`, a client id that
 * every holder of the subscription shares), and a QoS 1 message is acknowledged only once
 * `onUplink` (or `onActivation`) has stored it: a process that dies before that leaves the
 * message with the broker, which sends it again to the next holder. MQTT.js handles one incoming packet at a time per
 * connection, so at QoS 1 a subscription's rate is bound by the store's commit time; QoS 0
 * messages (what TTN and the simulator publish) are not held back one by one. Either way the
 * subscription stops reading while `handlers.ready()` says the server has too many waiting to
 * be stored (flow control).
 *
 * Reconnects are ours, not MQTT.js's fixed period: exponential backoff with jitter, and a
 * slower one when the broker refuses the key (CONNACK 4/5) or the subscription (SUBACK 128).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Forbidden, Unauthorized, UnreadableMessage, Unavailable } from '../errors.js';
import type {
  DownlinkRequest,
  UplinkHandlers,
  UplinkSubscription,
  UplinkTarget,
} from '../protocol.js';
import {
  downlinkMessage,
  downlinkTopic,
  parseActivation,
  readTopic,
  uplinkTopics,
} from './uplinks.js';

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/** A refused key stays refused until somebody changes it: retry rarely. */
const REFUSED_MIN_MS = 30_000;
const REFUSED_MAX_MS = 5 * 60_000;
const DOWNLINK_TIMEOUT_MS = 10_000;

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffMs(attempt: number, minMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 20));
  return delay / 2 + Math.random() * (delay / 2);
}

function mqttUrl(target: UplinkTarget): string {
  const url = target.settings.mqttUrl;
  if (!url) throw new Error('ttn-v2 network has no mqttUrl setting');
  return url;
}

/** CONNACK return codes 4 (bad username or password) and 5 (not authorized). */
function refusal(error: Error & { code?: unknown }): string | undefined {
  if (error.code === 4) return 'TTN refused the access key (bad username or password)';
  if (error.code === 5)
    return 'TTN refused the access key (not authorized: it needs messages:up:r)';
  return undefined;
}

export function subscribeUplinks(
  target: UplinkTarget,
  handlers: UplinkHandlers,
): UplinkSubscription {
  let closed = false;
  /** Set by handOver(): the next close of the connection ends the subscription. */
  let handedOver: (() => void) | undefined;
  let attempts = 0;
  let refused: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  // Not async: every message passes here, and an async function's promise and resumption per
  // message showed in the uplinks bench (~4 % of its throughput). Uplinks are handed on unread:
  // the server reads them off the event loop.
  const handle = (topic: string, payload: Buffer): Promise<void> => {
    const route = readTopic(topic);
    if (route === undefined) return Promise.resolve();
    const { kind, remoteDeviceId } = route;
    if (kind === 'uplink')
      return handlers.onUplink({ remoteDeviceId, topic, payload, receivedAtMs: Date.now() });
    try {
      return handlers.onActivation(parseActivation(remoteDeviceId, payload, Date.now()));
    } catch (error) {
      if (error instanceof UnreadableMessage) {
        handlers.onDiscard(topic, error.message);
        return Promise.resolve();
      }
      return Promise.reject(error as Error);
    }
  };

  const options: IClientOptions = {
    username: target.remoteAppId,
    password: target.accessKey,
    clientId: target.clientId,
    clean: false,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 30,
    customHandleAcks: (topic, payload, _packet, done) => {
      handle(topic, payload).then(
        () => done(0),
        // Not acknowledged: drop the connection so the broker sends it again after reconnecting.
        (error: Error) => {
          done(error);
          client.end(true);
        },
      );
    },
  };
  handlers.onStatus('connecting');
  const client: MqttClient = mqtt.connect(mqttUrl(target), options);

  // mqtt.js reads the next message from the socket once this calls back: waiting here holds
  // the socket, and the broker, back.
  client.handleMessage = (_packet, callback) => {
    const wait = handlers.ready();
    if (wait === undefined) callback();
    else void wait.then(() => callback());
  };

  client.on('message', (topic, payload, packet) => {
    // QoS 1 messages went through customHandleAcks; QoS 0 ones have nothing to hold back.
    if (packet.qos === 0) {
      handle(topic, payload).catch((error: Error) =>
        handlers.onDiscard(topic, `not stored: ${error.message}`),
      );
    }
  });

  client.on('connect', () => {
    refused = undefined;
    client.subscribe(
      Object.fromEntries(uplinkTopics(target.remoteAppId).map((t) => [t, { qos: 1 as const }])),
      (error, granted) => {
        if (closed) return;
        if (error || granted?.some((g) => g.qos === 128)) {
          refused = `TTN refused the subscription to ${target.remoteAppId}'s uplinks`;
          client.end(true);
          return;
        }
        attempts = 0;
        handlers.onStatus('subscribed');
      },
    );
  });

  client.on('error', (error: Error & { code?: unknown }) => {
    refused = refusal(error) ?? refused;
  });

  client.on('close', () => {
    if (closed) return;
    if (handedOver !== undefined) {
      // The broker closed it for the new holder (the same client id): done, no reconnect.
      closed = true;
      clearTimeout(timer);
      const ended = handedOver;
      client.end(true, {}, () => ended());
      return;
    }
    const delay = refused
      ? backoffMs(attempts, REFUSED_MIN_MS, REFUSED_MAX_MS)
      : backoffMs(attempts, RECONNECT_MIN_MS, RECONNECT_MAX_MS);
    attempts++;
    handlers.onStatus(refused ? 'refused' : 'reconnecting', refused);
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!closed) client.reconnect();
    }, delay);
  });

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      await client.endAsync(true);
      handedOver?.(); // a hand-over nobody took: it ends here
    },
    handOver() {
      return new Promise<void>((resolve) => {
        if (closed) return resolve();
        handedOver = resolve;
        // Not connected (between reconnects): nothing to keep receiving.
        if (!client.connected) {
          closed = true;
          clearTimeout(timer);
          client.end(true, {}, () => resolve());
        }
      });
    },
  };
}

/**
 * Publishes one downlink on its own short connection (a client id of its own, so that it never
 * takes over the uplink subscription's session). The broker's PUBACK confirms it; the simulator,
 * like TTN, closes the connection instead when the key lacks `messages:down:w`.
 */
export async function sendDownlink(target: UplinkTarget, downlink: DownlinkRequest): Promise<void> {
  const client = mqtt.connect(mqttUrl(target), {
    username: target.remoteAppId,
    password: target.accessKey,
    clientId: `${target.clientId}-down-${Math.random().toString(36).slice(2, 10)}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: DOWNLINK_TIMEOUT_MS,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Unavailable('TTN did not confirm the downlink in time')),
        DOWNLINK_TIMEOUT_MS,
      );
      const fail = (error: Error) => {
        clearTimeout(timer);
        reject(error);
      };
      client.once('error', (error: Error & { code?: unknown }) => {
        const refused = refusal(error);
        if (error.code === 4) fail(new Unauthorized(refused));
        else if (error.code === 5) fail(new Forbidden(refused));
        else fail(new Unavailable(`TTN's MQTT broker cannot be reached: ${error.message}`));
      });
      client.once('close', () =>
        fail(new Forbidden('TTN closed the connection: the access key may lack messages:down:w')),
      );
      client.once('connect', () => {
        client.publish(
          downlinkTopic(target.remoteAppId, downlink.remoteDeviceId),
          downlinkMessage(downlink.fPort, downlink.payload, downlink.confirmed),
          { qos: 1 },
          (error) => {
            clearTimeout(timer);
            if (error) reject(new Unavailable(`TTN did not take the downlink: ${error.message}`));
            else resolve();
          },
        );
      });
    });
  } finally {
    await client.endAsync(true);
  }
}
