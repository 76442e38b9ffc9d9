/**
 * CSV import of devices, in the columns TTN users bring (header names are matched without
 * case, spaces, `_` or `-`): name, DevEUI, JoinEUI or AppEUI, AppKey, or for ABP DevAddr,
 * NwkSKey, AppSKey; optional description and activation; other columns are not read, and the
 * answer names them. Good rows are stored (and queued for the linked networks); each bad row
 * is reported with its line number and reason.
 */
import type { Principal } from '../accounts/principal.js';
import { nowIso } from '../clock.js';
import { isUniqueViolation } from '../db/errors.js';
import { validationFailed } from '../http/problem.js';
import type { DeviceRow } from './applications.table.js';
import { requireApplication } from './applications.service.js';
import type { ImportResultView } from './applications.schemas.js';
import { readCsvRecords } from './csv-records.js';
import { checkDeviceFields, type DeviceFieldsInput } from './device-fields.js';
import { findDevicesByEui } from './devices.repository.js';
import {
  addDevices,
  deviceRow,
  devEuiTaken,
  devicesWritten,
  type DevicesDeps,
} from './devices.service.js';
import { lockLinksOfApplication } from './links.repository.js';

/** Rows per request: an import is a request, and a request must stay short. */
export const MAX_IMPORT_ROWS = 10_000;
/** Bytes of CSV per request: room for MAX_IMPORT_ROWS rows of the longest columns (ABP keys). */
export const IMPORT_BODY_LIMIT = 4 * 1024 * 1024;

const COLUMNS: Record<string, keyof DeviceFieldsInput> = {
  name: 'name',
  devicename: 'name',
  devid: 'name',
  deviceid: 'name',
  description: 'description',
  deveui: 'devEui',
  joineui: 'joinEui',
  appeui: 'joinEui',
  appkey: 'appKey',
  devaddr: 'devAddr',
  deviceaddress: 'devAddr',
  nwkskey: 'nwkSKey',
  networksessionkey: 'nwkSKey',
  appskey: 'appSKey',
  appsessionkey: 'appSKey',
  applicationsessionkey: 'appSKey',
  activation: 'activation',
  activationmethod: 'activation',
};

const normalize = (header: string) => header.toLowerCase().replace(/[\s_-]/g, '');

/**
 * `lineOffset`: lines before this text in the whole file, for clients that send a big file in
 * parts (each part repeats the header), so that line numbers are those of the file.
 */
export async function importDevices(
  deps: DevicesDeps,
  actor: Principal,
  applicationId: string,
  text: string,
  lineOffset = 0,
): Promise<ImportResultView> {
  const application = await requireApplication(deps.db, actor, applicationId);
  const read = readCsvRecords(text);
  const [header, ...records] = read.records;
  const unreadHeader = read.errors.find((e) => header === undefined || e.line < header.line);
  if (unreadHeader !== undefined) {
    throw validationFailed([
      {
        field: '(body)',
        message: `line ${unreadHeader.line + lineOffset}, the header, ${unreadHeader.message}`,
      },
    ]);
  }
  if (header === undefined)
    throw validationFailed([{ field: '(body)', message: 'has no header row' }]);
  const columns = header.values.map((h) => COLUMNS[normalize(h)]);
  // Exports carry other columns too (attributes, locations): they are not read, and said so.
  const ignoredColumns = header.values.filter((h, i) => columns[i] === undefined && h !== '');
  for (const needed of ['name', 'devEui'] as const) {
    if (!columns.includes(needed)) {
      throw validationFailed([
        {
          field: '(body)',
          message: `has no ${needed === 'name' ? 'name' : 'DevEUI'} column (the first row names the columns, separated by commas, semicolons or tabs)`,
        },
      ]);
    }
  }
  if (records.length > MAX_IMPORT_ROWS) {
    throw validationFailed([
      { field: '(body)', message: `has more than ${MAX_IMPORT_ROWS} rows; import it in parts` },
    ]);
  }

  const rows = records.map(({ line, values }) => ({ line: line + lineOffset, values }));
  const errors: ImportResultView['errors'] = read.errors.map(({ line, message }) => ({
    line: line + lineOffset,
    field: null,
    message,
  }));
  const now = nowIso();
  const good: { line: number; row: DeviceRow }[] = [];
  const inFile = new Map<string, number>();
  for (const { line, values } of rows) {
    const input: DeviceFieldsInput = {};
    columns.forEach((field, i) => {
      if (field !== undefined && values[i] !== undefined && values[i] !== '')
        input[field] = values[i];
    });
    const { device, errors: fieldErrors } = checkDeviceFields(input);
    if (device === undefined) {
      for (const e of fieldErrors) errors.push({ line, field: e.field, message: e.message });
      continue;
    }
    const earlier = inFile.get(device.devEui);
    if (earlier !== undefined) {
      errors.push({ line, field: 'devEui', message: `repeats the DevEUI of line ${earlier}` });
      continue;
    }
    inFile.set(device.devEui, line);
    good.push({ line, row: deviceRow(deps.secretBox, application, device, now) });
  }

  const taken = new Set(
    (
      await findDevicesByEui(
        deps.db,
        application.organization_id,
        good.map((g) => g.row.dev_eui),
      )
    ).map((d) => d.dev_eui),
  );
  const fresh = good.filter(({ line, row }) => {
    if (!taken.has(row.dev_eui)) return true;
    errors.push({
      line,
      field: 'devEui',
      message: 'is used by another device of your organization',
    });
    return false;
  });
  try {
    await deps.db.transaction().execute(async (trx) => {
      const links = await lockLinksOfApplication(trx, application.id);
      await addDevices(
        trx,
        application.organization_id,
        fresh.map((f) => f.row),
        links,
        now,
      );
    });
  } catch (error) {
    // Another request took one of the DevEUIs meanwhile: nothing was stored; try again.
    if (isUniqueViolation(error)) throw devEuiTaken('(one of the file)');
    throw error;
  }
  if (fresh.length > 0) await devicesWritten(deps, application.organization_id, application.id);
  const failedLines = new Set(errors.map((e) => e.line));
  errors.sort((a, b) => a.line - b.line);
  return {
    total: rows.length + read.errors.length,
    created: fresh.length,
    failed: failedLines.size,
    ignoredColumns,
    errors,
  };
}
