/**
 * All SQL of the uplinks feature: the uplinks and their outbox, endpoint health, subscription
 * leases, and the reads (and the few writes) of applications, devices and links it needs.
 */
import {
  sql,
  type RawBuilder,
  type SelectQueryBuilder,
  type SqlBool,
  type Transaction,
} from 'kysely';
import { devicesChangedById } from '../applications/devices.repository.js';
import { compileOnce } from '../db/compiled.js';
import { sqliteConnectionOf, type Db } from '../db/database.js';
import { toCount, type Page } from '../db/paging.js';
import type { Database } from '../db/schema.js';
import type {
  DeliveryStatus,
  NewUplinkRow,
  SubscriptionState,
  UplinkLeaseRow,
} from './uplinks.table.js';

export type Dialect = 'sqlite' | 'postgres';

/**
 * `column in (ids)` written so that the statement's text does not depend on how many ids there
 * are: SQLite prepares it once instead of once per list length (see insertUplinks).
 */
function isOneOf(dialect: Dialect, column: string, ids: readonly string[]): RawBuilder<SqlBool> {
  return dialect === 'postgres'
    ? sql<SqlBool>`${sql.ref(column)} = any(${ids}::text[])`
    : sql<SqlBool>`${sql.ref(column)} in (select value from json_each(${JSON.stringify(ids)}))`;
}

// ---- Ingest ----

/** Deliveries that the worker of this process sends as soon as their uplinks are committed. */
export interface SendNow {
  uplinkIds: ReadonlySet<string>;
  /** Their claim, as claimDeliveries would set it: nobody else sends them meanwhile. */
  leaseUntil: string;
}

export interface StoredUplinks {
  /** Uplinks that were new (not stored before under the same message id). */
  stored: string[];
  /** Of `sendNow`, the uplinks whose delivery was created claimed (their application has a URL). */
  claimed: string[];
}

/**
 * Stores a batch of uplinks atomically: uplinks already stored (same message id) are skipped;
 * each new uplink of an application with a reporting URL gets a delivery, due now, or already
 * claimed if it is in `sendNow`; its device's last-seen time moves forward (raising its
 * application's devices version).
 *
 * Every batch runs the same few statements, whatever its size. On PostgreSQL it is one statement
 * (data-modifying CTEs) taking the batch as one JSON value, so a batch costs one round trip and
 * its commit; JSON.stringify escapes the documents far faster than the pg driver's array
 * literals. SQLite, in the process, runs prepared single-row statements in one transaction: a
 * statement with the whole batch in it (a JSON value, or a thousand placeholders) cost twice as
 * much, its documents escaped into JSON and parsed out again.
 */
export async function insertUplinks(
  db: Db,
  dialect: Dialect,
  rows: NewUplinkRow[],
  sendNow: SendNow = { uplinkIds: new Set(), leaseUntil: '' },
): Promise<StoredUplinks> {
  if (rows.length === 0) return { stored: [], claimed: [] };
  const now = rows[0]!.ingested_at;
  const deviceIds = [...new Set(rows.flatMap((r) => (r.device_id ? [r.device_id] : [])))];
  const latest = rows.reduce((max, r) => (r.received_at > max ? r.received_at : max), '');
  if (dialect === 'postgres') {
    return insertUplinksInOneStatement(db, rows, now, deviceIds, latest, {
      ids: [...sendNow.uplinkIds],
      leaseUntil: sendNow.leaseUntil,
    });
  }

  return db.transaction().execute(async (trx) => {
    const sqlite = sqliteConnectionOf(trx)!;
    const insertUplink = sqlite.prepare(INSERT_UPLINK);
    const stored: string[] = [];
    for (const r of rows) {
      const { changes } = insertUplink.run([
        r.id,
        r.application_id,
        r.device_id,
        r.network_id,
        r.received_at,
        r.ingested_at,
        r.document,
      ]);
      if (changes === 1) stored.push(r.id);
    }
    const claimed: string[] = [];
    if (stored.length > 0) {
      const targets = await findDeliveryTargets(trx, [
        ...new Set(rows.map((r) => r.application_id)),
      ]);
      const delivering = new Set(targets.filter((t) => t.reporting_url !== null).map((t) => t.id));
      const applicationOf = new Map(rows.map((r) => [r.id, r.application_id]));
      const insertDelivery = sqlite.prepare(INSERT_DELIVERY);
      for (const id of stored) {
        const applicationId = applicationOf.get(id)!;
        if (!delivering.has(applicationId)) continue;
        const claim = sendNow.uplinkIds.has(id);
        insertDelivery.run([id, applicationId, claim ? sendNow.leaseUntil : now, now, now]);
        if (claim) claimed.push(id);
      }
    }
    await touchDevices(trx, deviceIds, latest);
    return { stored, claimed };
  });
}

const DELIVERY_COLUMNS = [
  'uplink_id',
  'application_id',
  'status',
  'attempts',
  'next_attempt_at',
  'created_at',
  'updated_at',
] as const;

/** SQLite's statements for one uplink and its delivery (see insertUplinks). */
const INSERT_UPLINK = `insert into uplinks (id, application_id, device_id, network_id, received_at, ingested_at, document)
  values (?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing`;
const INSERT_DELIVERY = `insert into deliveries (${DELIVERY_COLUMNS.join(', ')})
  values (?, ?, 'pending', 0, ?, ?, ?)`;

async function insertUplinksInOneStatement(
  db: Db,
  rows: NewUplinkRow[],
  now: string,
  deviceIds: string[],
  latest: string,
  claim: { ids: string[]; leaseUntil: string },
): Promise<StoredUplinks> {
  // The CTEs see one snapshot: the deliveries come from the RETURNING of the insert, and the
  // devices version from the devices the update moved.
  const touch =
    deviceIds.length === 0
      ? sql``
      : sql`, seen as (
          update devices set last_seen_at = ${latest}
          where id = any(${deviceIds}::text[])
            and (last_seen_at is null or last_seen_at < ${latest})
          returning application_id
        ), versions as (
          update applications set devices_version = devices_version + 1
          where id in (select application_id from seen)
        )`;
  const result = await sql<{ id: string; claimed: boolean }>`
    with new_uplinks as (
      insert into uplinks (id, application_id, device_id, network_id, received_at, ingested_at, document)
      select * from json_to_recordset(${JSON.stringify(rows)}::json) as r(
        id text, application_id text, device_id text, network_id text,
        received_at text, ingested_at text, document text)
      on conflict (id) do nothing
      returning id, application_id
    ), new_deliveries as (
      insert into deliveries (${sql.join(DELIVERY_COLUMNS.map((c) => sql.ref(c)))})
      select n.id, n.application_id, 'pending', 0,
        case when n.id = any(${claim.ids}::text[]) then ${claim.leaseUntil} else ${now} end,
        ${now}, ${now}
      from new_uplinks n join applications a on a.id = n.application_id
      where a.reporting_url is not null
      returning uplink_id, next_attempt_at <> created_at as claimed
    )${touch}
    select n.id, coalesce(d.claimed, false) as claimed
    from new_uplinks n left join new_deliveries d on d.uplink_id = n.id`.execute(db);
  return {
    stored: result.rows.map((r) => r.id),
    claimed: result.rows.filter((r) => r.claimed).map((r) => r.id),
  };
}

/**
 * Moves devices' last-seen time forward (never back) to `at`. One statement for a whole batch:
 * the batch's latest reception time stands for all its devices (they differ by milliseconds).
 * Run it in a transaction: it also raises the devices version of their applications.
 */
export async function touchDevices(
  db: Db | Transaction<Database>,
  deviceIds: string[],
  at: string,
): Promise<void> {
  if (deviceIds.length === 0) return;
  const result = await db
    .updateTable('devices')
    .set({ last_seen_at: at })
    .where('id', 'in', deviceIds)
    .where((eb) => eb.or([eb('last_seen_at', 'is', null), eb('last_seen_at', '<', at)]))
    .executeTakeFirst();
  if (result.numUpdatedRows > 0n) await devicesChangedById(db, deviceIds);
}

/** Network device id → local device id, for one application link. */
export async function listDeviceLinks(
  db: Db,
  applicationLinkId: string,
): Promise<{ remote_id: string; device_id: string }[]> {
  return db
    .selectFrom('device_links')
    .select(['remote_id', 'device_id'])
    .where('application_link_id', '=', applicationLinkId)
    .execute();
}

// ---- Subscriptions and their leases ----

export interface SubscribableLinkRow {
  id: string;
  application_id: string;
  network_id: string;
  protocol_id: string;
  remote_id: string;
  access_key_sealed: string;
  /** The network's (non-secret) settings as stored: a change (a new MQTT URL) restarts it. */
  network_settings: string;
}

/** Every application link that has a key to receive uplinks with. */
export async function listSubscribableLinks(db: Db): Promise<SubscribableLinkRow[]> {
  const rows = await db
    .selectFrom('application_links')
    .innerJoin('networks', 'networks.id', 'application_links.network_id')
    .select([
      'application_links.id',
      'application_links.application_id',
      'application_links.network_id',
      'networks.protocol_id',
      'application_links.remote_id',
      'application_links.access_key_sealed',
      'networks.settings_json as network_settings',
    ])
    .where('application_links.access_key_sealed', 'is not', null)
    .orderBy('application_links.id')
    .execute();
  return rows.map((r) => ({ ...r, access_key_sealed: r.access_key_sealed! }));
}

/**
 * Takes the lease of a link when nobody holds it or the holder let it expire (or it is ours).
 * One statement, so two processes racing for it cannot both win.
 */
export async function acquireLease(
  db: Db,
  linkId: string,
  holder: string,
  now: string,
  expiresAt: string,
): Promise<boolean> {
  const row = await db
    .insertInto('uplink_leases')
    .values({
      application_link_id: linkId,
      holder,
      expires_at: expiresAt,
      state: 'connecting',
      last_error: null,
      since: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc
        .column('application_link_id')
        .doUpdateSet({
          holder,
          expires_at: expiresAt,
          state: 'connecting',
          since: now,
          updated_at: now,
        })
        .where((eb) =>
          eb.or([
            eb('uplink_leases.expires_at', '<', now),
            eb('uplink_leases.holder', '=', holder),
          ]),
        ),
    )
    .returning('holder')
    .executeTakeFirst();
  return row?.holder === holder;
}

/** Extends the leases this holder still has; returns the link ids it kept. */
export async function renewLeases(
  db: Db,
  holder: string,
  linkIds: string[],
  expiresAt: string,
): Promise<string[]> {
  if (linkIds.length === 0) return [];
  const rows = await db
    .updateTable('uplink_leases')
    .set({ expires_at: expiresAt })
    .where('holder', '=', holder)
    .where('application_link_id', 'in', linkIds)
    .returning('application_link_id')
    .execute();
  return rows.map((r) => r.application_link_id);
}

/**
 * This process is alive and takes subscriptions; answers how many such processes were seen
 * since `aliveSince` (itself included). Processes not seen for long are forgotten.
 */
export async function countHolders(
  db: Db,
  holder: string,
  now: string,
  aliveSince: string,
  forgetBefore: string,
): Promise<number> {
  await db
    .insertInto('uplink_holders')
    .values({ holder, seen_at: now })
    .onConflict((oc) => oc.column('holder').doUpdateSet({ seen_at: now }))
    .execute();
  await db.deleteFrom('uplink_holders').where('seen_at', '<', forgetBefore).execute();
  const row = await db
    .selectFrom('uplink_holders')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('seen_at', '>=', aliveSince)
    .executeTakeFirstOrThrow();
  return Math.max(1, toCount(row.n));
}

/** This process stops taking subscriptions. */
export async function forgetHolder(db: Db, holder: string): Promise<void> {
  await db.deleteFrom('uplink_holders').where('holder', '=', holder).execute();
}

export async function releaseLease(db: Db, linkId: string, holder: string): Promise<void> {
  await db
    .deleteFrom('uplink_leases')
    .where('application_link_id', '=', linkId)
    .where('holder', '=', holder)
    .execute();
}

export async function setLeaseState(
  db: Db,
  linkId: string,
  holder: string,
  state: SubscriptionState,
  error: string | null,
  now: string,
): Promise<void> {
  await db
    .updateTable('uplink_leases')
    .set({ state, last_error: error, updated_at: now })
    .where('application_link_id', '=', linkId)
    .where('holder', '=', holder)
    .execute();
}

/**
 * Records (or clears) a subscription error on the link itself, where the applications feature
 * shows link errors. Clearing only removes an error this feature wrote (it starts with
 * `prefix`), never a sync error of the applications feature.
 */
export async function setLinkError(
  db: Db,
  linkId: string,
  error: string | null,
  prefix: string,
  now: string,
): Promise<void> {
  let query = db
    .updateTable('application_links')
    .set({ last_error: error, updated_at: now })
    .where('id', '=', linkId);
  query = error === null ? query.where('last_error', 'like', `${prefix}%`) : query;
  await query.execute();
}

export async function listLeases(
  db: Db,
  applicationId: string,
): Promise<(UplinkLeaseRow & { network_id: string })[]> {
  return db
    .selectFrom('uplink_leases')
    .innerJoin('application_links', 'application_links.id', 'uplink_leases.application_link_id')
    .selectAll('uplink_leases')
    .select('application_links.network_id')
    .where('application_links.application_id', '=', applicationId)
    .execute();
}

// ---- Delivery ----

/**
 * How many of the earliest due deliveries a claim looks at. Ranking them per application costs
 * time in proportion, so a backlog of millions costs no more than this.
 */
const CLAIM_SCAN = 2_000;

export interface ClaimedDelivery {
  uplink_id: string;
  application_id: string;
  attempts: number;
  created_at: string;
  /** The uplink's document, the body to send; null if the uplink was purged meanwhile. */
  document: string | null;
}

/**
 * Whether any delivery is due, through the index of pending ones (its condition written
 * literally, as the partial index needs): what an idle worker asks twice a second, instead of
 * running a claim for nothing.
 */
const dueDelivery = compileOnce(['now'], (db, v) =>
  db
    .selectFrom('deliveries')
    .select('uplink_id')
    .where(sql<SqlBool>`status = 'pending'`)
    .where('next_attempt_at', '<=', v.now)
    .limit(1),
);

/**
 * Claims due deliveries: among the earliest due ones (CLAIM_SCAN), at most `perApplication` of
 * each application (one while its endpoint is failing: a probe), none of an endpoint in backoff
 * or of `excluded` applications (those with enough in flight), ordered so that every
 * application gets its turn before any gets a second one. Claiming moves
 * `next_attempt_at` to `leaseUntil`: a process that dies mid-request leaves them for another.
 * On PostgreSQL, rows locked by another process's claim are skipped. The documents to send
 * come back with the claim: one round trip.
 */
export async function claimDeliveries(
  db: Db,
  dialect: Dialect,
  options: {
    now: string;
    leaseUntil: string;
    limit: number;
    perApplication: number;
    excluded: string[];
  },
): Promise<ClaimedDelivery[]> {
  const { now, leaseUntil, limit, perApplication, excluded } = options;
  if ((await dueDelivery(db, { now })).length === 0) return [];
  const notExcluded =
    excluded.length > 0 ? sql`and not ${isOneOf(dialect, 'd.application_id', excluded)}` : sql``;
  const ranked = sql`
    select ranked.uplink_id from (
      select c.uplink_id, c.next_attempt_at,
        row_number() over (partition by c.application_id order by c.next_attempt_at, c.uplink_id) as rank,
        case when c.consecutive_failures > 0 then 1 else ${perApplication} end as cap
      from (
        select d.uplink_id, d.application_id, d.next_attempt_at, e.consecutive_failures
        from deliveries d
        left join delivery_endpoints e on e.application_id = d.application_id
        where d.status = 'pending' and d.next_attempt_at <= ${now}
          and (e.blocked_until is null or e.blocked_until <= ${now})
          ${notExcluded}
        order by d.next_attempt_at
        limit ${CLAIM_SCAN}
      ) c
    ) ranked
    where ranked.rank <= ranked.cap
    order by ranked.rank, ranked.next_attempt_at
    limit ${limit}`;
  const returning = sql`returning uplink_id, application_id, attempts, created_at,
      (select u.document from uplinks u where u.id = deliveries.uplink_id) as document`;
  // SQLite has one writer: the statement alone is atomic (and a second look through the due
  // index would scan every due delivery at each claim).
  if (dialect === 'sqlite') {
    const result = await sql<ClaimedDelivery>`
      update deliveries set next_attempt_at = ${leaseUntil}, updated_at = ${now}
      where uplink_id in (${ranked}) ${returning}`.execute(db);
    return result.rows;
  }
  // PostgreSQL: lock the picked rows, skipping those another process's claim holds, then update
  // those still due: a row another process claimed since this statement's snapshot is checked
  // again in its latest version, and left out. Both steps go through the primary key on arrays
  // (InitPlans), whatever the statistics say. A row filter that the planner believes selective
  // (the due index while a burst has outgrown the last ANALYZE) made it scan every due row once
  // per picked id: 1.1 s instead of 13 ms for a claim of 500 among 10,000 due. For the same
  // reason the check is written (isPending, `|| ''`) so that the partial index of due
  // deliveries cannot serve it.
  const result = await sql<ClaimedDelivery>`
    update deliveries set next_attempt_at = ${leaseUntil}, updated_at = ${now}
    where uplink_id = any(array(
        select l.uplink_id from deliveries l where l.uplink_id = any(array(${ranked}))
        for update skip locked))
      and ${isPending(dialect)} and next_attempt_at || '' <= ${now}
    ${returning}`.execute(db);
  return result.rows;
}

/**
 * Of deliveries this process holds claims on without their documents (see held-deliveries.ts),
 * those still pending, with their documents: a read by primary key, no claim. Those gone
 * (delivered, purged, their application deleted) are left out.
 */
export async function readClaimedDeliveries(
  db: Db,
  dialect: Dialect,
  uplinkIds: readonly string[],
): Promise<ClaimedDelivery[]> {
  if (uplinkIds.length === 0) return [];
  return db
    .selectFrom('deliveries as d')
    .innerJoin('uplinks as u', 'u.id', 'd.uplink_id')
    .select(['d.uplink_id', 'd.application_id', 'd.attempts', 'd.created_at', 'u.document'])
    .where(isOneOf(dialect, 'd.uplink_id', uplinkIds))
    .where(isPending(dialect))
    .execute();
}

export interface DeliveryTargetRow {
  id: string;
  reporting_url: string | null;
  reporting_secret_sealed: string | null;
}

export async function findDeliveryTargets(
  db: Db,
  applicationIds: string[],
): Promise<DeliveryTargetRow[]> {
  if (applicationIds.length === 0) return [];
  return db
    .selectFrom('applications')
    .select(['id', 'reporting_url', 'reporting_secret_sealed'])
    .where('id', 'in', applicationIds)
    .execute();
}

/**
 * `status = 'pending'`, on PostgreSQL written so that the partial index of due deliveries
 * cannot serve it: statements that pick deliveries by id then go through the primary key (see
 * claimDeliveries). With statistics older than a burst, the planner took that index and
 * filtered every pending row by the id list: 20 ms to record 100 outcomes with 10,000 pending.
 */
function isPending(dialect: Dialect): RawBuilder<SqlBool> {
  return dialect === 'postgres'
    ? sql<SqlBool>`status || '' = 'pending'`
    : sql<SqlBool>`status = 'pending'`;
}

/** An update of the given deliveries that are still pending (delivered or dead ones stay as they are). */
function updatePending(db: Db, dialect: Dialect, uplinkIds: readonly string[]) {
  return db
    .updateTable('deliveries')
    .where(isOneOf(dialect, 'uplink_id', uplinkIds))
    .where(isPending(dialect));
}

export async function markDelivered(
  db: Db,
  dialect: Dialect,
  delivered: { uplinkId: string; status: number }[],
  now: string,
): Promise<void> {
  const byStatus = new Map<number, string[]>();
  for (const d of delivered) {
    const ids = byStatus.get(d.status);
    if (ids === undefined) byStatus.set(d.status, [d.uplinkId]);
    else ids.push(d.uplinkId);
  }
  for (const [status, ids] of byStatus) {
    await updatePending(db, dialect, ids)
      .set((eb) => ({
        status: 'delivered',
        attempts: eb('attempts', '+', 1),
        last_status: status,
        last_error: null,
        delivered_at: now,
        updated_at: now,
      }))
      .execute();
  }
}

export async function markFailed(
  db: Db,
  dialect: Dialect,
  uplinkIds: string[],
  outcome: {
    status: DeliveryStatus;
    nextAttemptAt: string;
    lastStatus: number | null;
    lastError: string;
  },
  now: string,
): Promise<void> {
  await updatePending(db, dialect, uplinkIds)
    .set((eb) => ({
      status: outcome.status,
      attempts: eb('attempts', '+', 1),
      next_attempt_at: outcome.nextAttemptAt,
      last_status: outcome.lastStatus,
      last_error: outcome.lastError,
      updated_at: now,
    }))
    .execute();
}

/** Moves the next attempt of pending deliveries: renews or ends this process's claims on them. */
export async function rescheduleDeliveries(
  db: Db,
  dialect: Dialect,
  uplinkIds: string[],
  nextAttemptAt: string,
): Promise<void> {
  if (uplinkIds.length === 0) return;
  await updatePending(db, dialect, uplinkIds).set({ next_attempt_at: nextAttemptAt }).execute();
}

/**
 * Holds back every due delivery of an application until `until` (its endpoint's backoff), so
 * that claims do not even look at them meanwhile.
 */
export async function postponeDeliveries(
  db: Db,
  applicationId: string,
  until: string,
): Promise<void> {
  await db
    .updateTable('deliveries')
    .set({ next_attempt_at: until })
    .where('application_id', '=', applicationId)
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<', until)
    .execute();
}

/** Pending deliveries of an application older than the retry period become dead letters. */
export async function deadLetterExpired(
  db: Db,
  applicationId: string,
  createdBefore: string,
  error: string,
  now: string,
): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set({ status: 'dead', last_error: error, updated_at: now })
    .where('application_id', '=', applicationId)
    .where('status', '=', 'pending')
    .where('created_at', '<', createdBefore)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function findEndpoint(db: Db, applicationId: string) {
  return db
    .selectFrom('delivery_endpoints')
    .selectAll()
    .where('application_id', '=', applicationId)
    .executeTakeFirst();
}

export async function recordEndpointSuccess(
  db: Db,
  applicationIds: string[],
  now: string,
): Promise<void> {
  for (const applicationId of applicationIds) {
    await db
      .insertInto('delivery_endpoints')
      .values({
        application_id: applicationId,
        consecutive_failures: 0,
        last_success_at: now,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column('application_id').doUpdateSet({
          consecutive_failures: 0,
          blocked_until: null,
          last_success_at: now,
          updated_at: now,
        }),
      )
      .execute();
  }
}

export async function recordEndpointFailure(
  db: Db,
  applicationId: string,
  failure: { consecutiveFailures: number; blockedUntil: string | null; error: string },
  now: string,
): Promise<void> {
  const values = {
    consecutive_failures: failure.consecutiveFailures,
    blocked_until: failure.blockedUntil,
    last_error: failure.error,
    last_error_at: now,
    updated_at: now,
  };
  await db
    .insertInto('delivery_endpoints')
    .values({ application_id: applicationId, ...values })
    .onConflict((oc) => oc.column('application_id').doUpdateSet(values))
    .execute();
}

export async function countDeliveries(
  db: Db,
  applicationId: string,
): Promise<Record<DeliveryStatus, number>> {
  const rows = await db
    .selectFrom('deliveries')
    .select(['status', (eb) => eb.fn.countAll().as('n')])
    .where('application_id', '=', applicationId)
    .groupBy('status')
    .execute();
  const counts: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, dead: 0 };
  for (const row of rows) counts[row.status] = toCount(row.n as string | number);
  return counts;
}

/** Dead letters of an application become due again; returns how many. */
export async function requeueDead(db: Db, applicationId: string, now: string): Promise<number> {
  const result = await db
    .updateTable('deliveries')
    .set({ status: 'pending', next_attempt_at: now, created_at: now, updated_at: now })
    .where('application_id', '=', applicationId)
    .where('status', '=', 'dead')
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

// ---- Applications and devices, as the API sees them (scoped to an organization) ----

export interface ApplicationTargetRow {
  id: string;
  reporting_url: string | null;
  reporting_secret_sealed: string | null;
}

export async function findApplication(
  db: Db,
  organizationId: string,
  id: string,
): Promise<ApplicationTargetRow | undefined> {
  return db
    .selectFrom('applications')
    .select(['id', 'reporting_url', 'reporting_secret_sealed'])
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function setReportingSecret(
  db: Db,
  applicationId: string,
  sealed: string,
  now: string,
): Promise<void> {
  await db
    .updateTable('applications')
    .set({ reporting_secret_sealed: sealed, updated_at: now })
    .where('id', '=', applicationId)
    .execute();
}

export async function findDevice(
  db: Db,
  organizationId: string,
  id: string,
): Promise<{ id: string; application_id: string; last_seen_at: string | null } | undefined> {
  return db
    .selectFrom('devices')
    .select(['id', 'application_id', 'last_seen_at'])
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
}

/** The networks a device is on, with what a downlink needs. */
export async function findDeviceNetworkLinks(db: Db, deviceId: string) {
  return db
    .selectFrom('device_links')
    .innerJoin('application_links', 'application_links.id', 'device_links.application_link_id')
    .innerJoin('networks', 'networks.id', 'application_links.network_id')
    .select([
      'device_links.remote_id as remote_device_id',
      'application_links.id as link_id',
      'application_links.remote_id as remote_app_id',
      'application_links.access_key_sealed',
      'application_links.network_id',
      'networks.protocol_id',
    ])
    .where('device_links.device_id', '=', deviceId)
    .orderBy('application_links.created_at')
    .execute();
}

export interface UplinkListRow {
  id: string;
  document: string;
  ingested_at: string;
  status: DeliveryStatus | null;
  attempts: number | null;
  last_error: string | null;
  delivered_at: string | null;
}

/** The latest uplinks of an application or of a device, newest first. */
export async function listUplinks(
  db: Db,
  filter: { applicationId: string } | { deviceId: string },
  page: Page,
): Promise<{ rows: UplinkListRow[]; total: number }> {
  const base = db
    .selectFrom('uplinks')
    .$if('applicationId' in filter, (q) =>
      q.where('uplinks.application_id', '=', (filter as { applicationId: string }).applicationId),
    )
    .$if('deviceId' in filter, (q) =>
      q.where('uplinks.device_id', '=', (filter as { deviceId: string }).deviceId),
    );
  const [rows, count] = await Promise.all([
    base
      .leftJoin('deliveries', 'deliveries.uplink_id', 'uplinks.id')
      .select([
        'uplinks.id',
        'uplinks.document',
        'uplinks.ingested_at',
        'deliveries.status',
        'deliveries.attempts',
        'deliveries.last_error',
        'deliveries.delivered_at',
      ])
      .orderBy('uplinks.ingested_at', 'desc')
      .orderBy('uplinks.id', 'desc')
      .limit(page.limit)
      .offset(page.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirst(),
  ]);
  return { rows, total: toCount(count?.n as string | number | undefined) };
}

/**
 * Uplinks of an application stored after `after` (by storage time, then id), oldest first: the
 * live view pages through them with the last row as the next `after`.
 */
export async function uplinksAfter(
  db: Db,
  applicationId: string,
  after: { ingestedAt: string; id: string },
  limit: number,
): Promise<{ id: string; document: string; ingested_at: string }[]> {
  return db
    .selectFrom('uplinks')
    .select(['id', 'document', 'ingested_at'])
    .where('application_id', '=', applicationId)
    .where((eb) =>
      eb.or([
        eb('ingested_at', '>', after.ingestedAt),
        eb.and([eb('ingested_at', '=', after.ingestedAt), eb('id', '>', after.id)]),
      ]),
    )
    .orderBy('ingested_at')
    .orderBy('id')
    .limit(limit)
    .execute();
}

// ---- Retention ----

/**
 * Deletes up to `limit` uplinks stored before `before` that are done with: delivered, or never
 * to be delivered (no reporting URL). Pending deliveries and dead letters are kept.
 */
export async function purgeDelivered(db: Db, before: string, limit: number): Promise<number> {
  const rows = await db
    .selectFrom('uplinks as u')
    .leftJoin('deliveries as d', 'd.uplink_id', 'u.id')
    .select('u.id')
    .where('u.ingested_at', '<', before)
    .where((w) => w.or([w('d.status', 'is', null), w('d.status', '=', 'delivered')]))
    .limit(limit)
    .execute();
  return deleteUplinks(
    db,
    rows.map((r) => r.id),
    'delivered',
  );
}

export async function purgeDeadLetters(db: Db, before: string, limit: number): Promise<number> {
  const rows = await db
    .selectFrom('deliveries')
    .select('uplink_id')
    // A literal, as in the partial index's definition: SQLite uses the index only then.
    .where('status', '=', sql.lit('dead'))
    .where('updated_at', '<', before)
    .limit(limit)
    .execute();
  return deleteUplinks(
    db,
    rows.map((r) => r.uplink_id),
    'dead',
  );
}

/**
 * Deletes uplinks with their deliveries, if these are still `status` (a dead letter may have
 * been requeued meanwhile: it stays, and so does its uplink). Returns how many uplinks went.
 */
async function deleteUplinks(db: Db, ids: string[], status: 'delivered' | 'dead'): Promise<number> {
  if (ids.length === 0) return 0;
  return db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('deliveries')
      .where('uplink_id', 'in', ids)
      .where('status', '=', status)
      .execute();
    const result = await trx
      .deleteFrom('uplinks')
      .where('id', 'in', ids)
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom('deliveries').select('uplink_id').whereRef('uplink_id', '=', 'uplinks.id'),
          ),
        ),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

// ---- What goes with a deleted application, organization or device ----
// Uplinks and deliveries have no foreign keys (migration 0008: checking them was more than half
// of storing a batch on PostgreSQL). Run these in the transaction that deletes the owner.

/** Deletes the application's uplinks and deliveries. */
export async function deleteUplinksOfApplication(
  db: Db | Transaction<Database>,
  applicationId: string,
): Promise<void> {
  await deleteUplinksOfApplications(db, [applicationId]);
}

/** Deletes the uplinks and deliveries of every application of the organization. */
export async function deleteUplinksOfOrganization(
  db: Db | Transaction<Database>,
  organizationId: string,
): Promise<void> {
  await deleteUplinksOfApplications(
    db,
    db.selectFrom('applications').select('id').where('organization_id', '=', organizationId),
  );
}

async function deleteUplinksOfApplications(
  db: Db | Transaction<Database>,
  applications: string[] | SelectQueryBuilder<Database, 'applications', { id: string }>,
): Promise<void> {
  await db.deleteFrom('deliveries').where('application_id', 'in', applications).execute();
  await db.deleteFrom('uplinks').where('application_id', 'in', applications).execute();
}

/** The device's uplinks stay, with no device. */
export async function detachUplinksOfDevice(
  db: Db | Transaction<Database>,
  deviceId: string,
): Promise<void> {
  await db
    .updateTable('uplinks')
    .set({ device_id: null })
    .where('device_id', '=', deviceId)
    .execute();
}

/**
 * Deliveries waiting (pending, including those claimed and being sent) and dead letters, in
 * all applications: what the metrics report. Each count reads its partial index (the status
 * written literally, as those need), not the table of every delivery kept.
 */
export async function countUndelivered(db: Db): Promise<{ pending: number; dead: number }> {
  const [pending, dead] = await Promise.all(
    (['pending', 'dead'] as const).map(async (status) => {
      const row = await db
        .selectFrom('deliveries')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('status', '=', sql.lit(status))
        .executeTakeFirstOrThrow();
      return toCount(row.n);
    }),
  );
  return { pending: pending!, dead: dead! };
}
