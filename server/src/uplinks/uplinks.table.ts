import type { Insertable, Selectable } from 'kysely';

/** A received uplink: `document` is its normalized JSON, exactly as delivered. */
export interface UplinksTable {
  /** The message id (see document.ts): stable for one network message. */
  id: string;
  application_id: string;
  /** Null when the network's device is not (yet) known here. */
  device_id: string | null;
  network_id: string;
  /** When the network received it. */
  received_at: string;
  /** When this server stored it. */
  ingested_at: string;
  document: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

/**
 * The outbox: one delivery per uplink of an application with a reporting URL. A pending
 * delivery is due at `next_attempt_at`; claiming it moves `next_attempt_at` past the request
 * time-out, so a process that dies mid-request leaves it to be claimed again.
 */
export interface DeliveriesTable {
  uplink_id: string;
  application_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  /** HTTP status of the last attempt; null when it got no answer. */
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  updated_at: string;
}

/** The health of an application's reporting URL; its backoff holds back all its deliveries. */
export interface DeliveryEndpointsTable {
  application_id: string;
  consecutive_failures: number;
  /** No delivery to this endpoint before this time (endpoint backoff); null = open. */
  blocked_until: string | null;
  last_success_at: string | null;
  last_error: string | null;
  last_error_at: string | null;
  updated_at: string;
}

export type SubscriptionState = 'connecting' | 'subscribed' | 'reconnecting' | 'refused';

/** The process (`holder`) that holds the MQTT subscription of an application link, until `expires_at`. */
export interface UplinkLeasesTable {
  application_link_id: string;
  holder: string;
  expires_at: string;
  state: SubscriptionState;
  last_error: string | null;
  /** When the current holder took the lease. */
  since: string;
  updated_at: string;
}

/** A server process that takes uplink subscriptions, and when it was last seen doing so. */
export interface UplinkHoldersTable {
  holder: string;
  seen_at: string;
}

export type UplinkRow = Selectable<UplinksTable>;
export type NewUplinkRow = Insertable<UplinksTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type DeliveryEndpointRow = Selectable<DeliveryEndpointsTable>;
export type UplinkLeaseRow = Selectable<UplinkLeasesTable>;
