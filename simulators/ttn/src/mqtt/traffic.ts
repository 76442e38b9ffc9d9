import { randomBytes, randomInt } from 'node:crypto';
import { SimError, notFound } from '../errors.js';
import { randomHex, type Device, type PayloadSettings, type SimState } from '../state.js';

export interface UplinkJobInput {
  appId: string;
  count: number;
  perSecond: number;
  devId?: string;
  port?: number;
}

export interface UplinkJob extends Required<Omit<UplinkJobInput, 'devId'>> {
  id: number;
  devId?: string;
  sent: number;
  done: boolean;
  started: string;
}

type Publish = (topic: string, payload: unknown) => void;

const FREQUENCIES = [868.1, 868.3, 868.5, 867.1, 867.3, 867.5, 867.7, 867.9];
const SF_AIRTIME_NS: Record<number, number> = {
  7: 46336000,
  8: 82432000,
  9: 164864000,
  10: 288768000,
  11: 659456000,
  12: 1155072000,
};

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * The payload of a reading as the application's payload format has it, and the fields its
 * decoder makes of it; no fields when the application has no decoder (TTN v2 then left
 * `payload_fields` out).
 *
 * - `custom` with a decoder: the simulator's 3 bytes (temperature in 0.01 °C, signed 16 bit;
 *   humidity in %) and `{temperature, humidity}`. The decoder's source is stored, never run.
 * - `cayennelpp`: Cayenne LPP (channel 1 temperature, 0.1 °C; channel 2 relative humidity,
 *   0.5 %) and TTN's field names for it, `{temperature_1, relative_humidity_2}`.
 * - otherwise (`custom` without a decoder, or a format TTN did not know): the 3 bytes alone.
 */
export function encodeReading(
  settings: PayloadSettings,
  temperature: number,
  humidity: number,
): { bytes: Buffer; fields?: Record<string, number> } {
  if (settings.payload_format === 'cayennelpp') {
    const tenths = Math.round(temperature * 10);
    const bytes = Buffer.from([0x01, 0x67, 0, 0, 0x02, 0x68, Math.round(humidity * 2)]);
    bytes.writeInt16BE(tenths, 2);
    return { bytes, fields: { temperature_1: tenths / 10, relative_humidity_2: humidity } };
  }
  const bytes = Buffer.alloc(3);
  bytes.writeInt16BE(Math.round(temperature * 100), 0);
  bytes.writeUInt8(humidity, 2);
  if (hasCustomDecoder(settings)) return { bytes, fields: { temperature, humidity } };
  return { bytes };
}

export function hasCustomDecoder(settings: PayloadSettings): boolean {
  return settings.payload_format === 'custom' && settings.decoder.trim() !== '';
}

/**
 * A TTN v2 uplink message for a device: the next frame counter, a reading (temperature and
 * humidity) encoded as the application's payload format says, its decoded fields when the
 * application has a decoder, radio metadata and one or two gateways.
 */
export function buildUplink(device: Device, port: number, settings: PayloadSettings) {
  const lw = device.lorawan_device;
  const counter = lw.f_cnt_up;
  lw.f_cnt_up = lw.uses32_bit_f_cnt ? (counter + 1) % 2 ** 32 : (counter + 1) % 2 ** 16;
  const now = new Date();
  lw.last_seen = now.toISOString();
  const temperature = round(15 + Math.random() * 10, 2);
  const humidity = randomInt(30, 80);
  const { bytes, fields } = encodeReading(settings, temperature, humidity);
  const sf = randomInt(7, 13);
  const lat = device.latitude || 52.3731;
  const lon = device.longitude || 4.8922;
  const gateways = Array.from({ length: randomInt(1, 3) }, (_, i) => ({
    gtw_id: `eui-b827ebfffe${randomHex(3).toLowerCase()}`,
    timestamp: randomBytes(4).readUInt32BE(0),
    time: now.toISOString(),
    channel: randomInt(0, 8),
    rssi: randomInt(-120, -40),
    snr: round(Math.random() * 20 - 10, 1),
    rf_chain: i % 2,
    latitude: round(lat + (Math.random() - 0.5) / 50, 5),
    longitude: round(lon + (Math.random() - 0.5) / 50, 5),
    altitude: randomInt(0, 40),
  }));
  return {
    app_id: device.app_id,
    dev_id: device.dev_id,
    hardware_serial: lw.dev_eui,
    port,
    counter,
    is_retry: false,
    confirmed: false,
    payload_raw: bytes.toString('base64'),
    ...(fields ? { payload_fields: fields } : {}),
    metadata: {
      time: now.toISOString(),
      frequency: FREQUENCIES[randomInt(0, FREQUENCIES.length)],
      modulation: 'LORA',
      data_rate: `SF${sf}BW125`,
      airtime: SF_AIRTIME_NS[sf],
      coding_rate: '4/5',
      latitude: device.latitude,
      longitude: device.longitude,
      altitude: device.altitude,
      gateways,
    },
  };
}

/** Publishes generated uplinks for an application's handler devices at a given rate. */
export class Traffic {
  private next = 1;
  private timers = new Map<number, NodeJS.Timeout>();
  jobs: UplinkJob[] = [];

  constructor(
    private readonly state: SimState,
    private readonly publish: () => Publish,
  ) {}

  start(input: UplinkJobInput): UplinkJob {
    const { appId } = input;
    if (typeof appId !== 'string') throw new SimError(400, 'appId is required');
    const count = input.count ?? 1;
    const perSecond = input.perSecond ?? 1;
    if (!Number.isInteger(count) || count < 1)
      throw new SimError(400, 'count must be a positive integer');
    if (typeof perSecond !== 'number' || !(perSecond > 0)) {
      throw new SimError(400, 'perSecond must be a positive number');
    }
    const port = input.port ?? 1;
    if (!Number.isInteger(port) || port < 1 || port > 223)
      throw new SimError(400, 'port must be 1..223');
    const happ = this.state.handlerApps.get(appId);
    if (!happ) throw notFound(`application "${appId}" is not registered on the handler`);
    if (input.devId !== undefined && !happ.devices.has(input.devId)) {
      throw notFound(`device "${input.devId}" not found`);
    }
    if (happ.devices.size === 0) throw new SimError(409, `application "${appId}" has no devices`);
    const job: UplinkJob = {
      id: this.next++,
      appId,
      count,
      perSecond,
      port,
      sent: 0,
      done: false,
      started: new Date().toISOString(),
    };
    if (input.devId !== undefined) job.devId = input.devId;
    this.jobs.push(job);
    const startedAt = Date.now();
    const tick = () => {
      const due = Math.min(count, Math.floor(((Date.now() - startedAt) / 1000) * perSecond) + 1);
      while (job.sent < due) {
        if (!this.sendOne(job)) return this.stop(job.id);
        job.sent++;
      }
      if (job.sent >= count) this.stop(job.id);
    };
    this.timers.set(job.id, setInterval(tick, Math.max(5, Math.min(1000, 1000 / perSecond))));
    tick();
    return job;
  }

  private sendOne(job: UplinkJob): boolean {
    const happ = this.state.handlerApps.get(job.appId);
    if (!happ || happ.devices.size === 0) return false;
    let device: Device | undefined;
    if (job.devId !== undefined) {
      device = happ.devices.get(job.devId);
    } else {
      const all = this.state.sortedDevices(happ);
      device = all[job.sent % all.length];
    }
    if (!device) return false;
    const publish = this.publish();
    const base = `${device.app_id}/devices/${device.dev_id}`;
    const lw = device.lorawan_device;
    if (lw.dev_addr === '') {
      // An OTAA device joins before its first uplink.
      lw.dev_addr = `26${randomHex(3)}`;
      lw.nwk_s_key = randomHex(16);
      lw.app_s_key = randomHex(16);
      lw.f_cnt_up = 0;
      publish(`${base}/events/activations`, {
        app_eui: lw.app_eui,
        dev_eui: lw.dev_eui,
        dev_addr: lw.dev_addr,
        metadata: {
          time: new Date().toISOString(),
          frequency: 868.1,
          modulation: 'LORA',
          data_rate: 'SF7BW125',
          coding_rate: '4/5',
        },
      });
    }
    const uplink = buildUplink(device, job.port, happ.settings);
    publish(`${base}/up`, uplink);
    // One topic per decoded field, only when there are decoded fields.
    for (const [field, value] of Object.entries(uplink.payload_fields ?? {})) {
      publish(`${base}/up/${field}`, value);
    }
    return true;
  }

  stop(id?: number): number {
    let stopped = 0;
    for (const job of this.jobs) {
      if (job.done || (id !== undefined && job.id !== id)) continue;
      const timer = this.timers.get(job.id);
      if (timer) clearInterval(timer);
      this.timers.delete(job.id);
      job.done = true;
      stopped++;
    }
    return stopped;
  }

  clear(): void {
    this.stop();
    this.jobs = [];
  }
}
