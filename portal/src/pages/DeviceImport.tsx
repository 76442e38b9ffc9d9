import { useState, type ChangeEvent } from 'react';
import { ApiError, api, unwrap } from '../api/client';
import { messageFor } from '../errors';
import type { ImportResult } from './ApplicationTypes';

/** How the server's field names read in the portal. */
const FIELD_LABELS: Record<string, string> = {
  name: 'Name',
  description: 'Description',
  devEui: 'DevEUI',
  joinEui: 'JoinEUI / AppEUI',
  appKey: 'AppKey',
  devAddr: 'DevAddr',
  nwkSKey: 'NwkSKey',
  appSKey: 'AppSKey',
  activation: 'Activation',
};

/** Rows per request: big files go in parts so the page can show progress. */
const ROWS_PER_PART = 500;

/**
 * Splits a CSV file into parts of whole records, each with the header, and the number of lines
 * before each part (for the server's line numbers). A record may span lines inside a quoted
 * value; as on the server, a quote opens one only at the start of a value (a quote inside a
 * value, as in `Tank 5" sensor`, is text). A value still open at the end of the file goes to
 * the server all the same, which reports it: no line of the file is left out unsaid.
 */
export function csvParts(
  text: string,
  rowsPerPart = ROWS_PER_PART,
): { body: string; lineOffset: number }[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const header = lines[0] ?? '';
  const records: { text: string; firstLine: number }[] = [];
  let current: string[] = [];
  let first = 1;
  let quoted = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (current.length === 0) first = i;
    current.push(line);
    quoted = endsInsideQuotes(line, quoted);
    if (!quoted) {
      // Blank lines are kept (the server skips them) so that line numbers stay the file's.
      records.push({ text: current.join('\n'), firstLine: first });
      current = [];
    }
  }
  if (current.length > 0) records.push({ text: current.join('\n'), firstLine: first });
  if (records.every((r) => r.text.trim() === '')) return [];
  const parts = [];
  for (let i = 0; i < records.length; i += rowsPerPart) {
    const chunk = records.slice(i, i + rowsPerPart);
    // The server numbers the header line 1 and the rows after it; shift to the file's lines.
    parts.push({
      body: [header, ...chunk.map((r) => r.text)].join('\n') + '\n',
      lineOffset: chunk[0]!.firstLine - 1,
    });
  }
  return parts;
}

/**
 * The file's text. UTF-8 unless it starts with a UTF-16 byte order mark; a file that is not
 * valid UTF-8 is most likely a spreadsheet's CSV in the Western European code page, read as
 * such (and said so) rather than with its accented letters turned into replacement marks.
 */
function decodeFile(bytes: ArrayBuffer): {
  text: string;
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252';
} {
  const head = new Uint8Array(bytes, 0, Math.min(2, bytes.byteLength));
  if (head[0] === 0xff && head[1] === 0xfe) {
    return { text: new TextDecoder('utf-16le').decode(bytes), encoding: 'utf-16le' };
  }
  if (head[0] === 0xfe && head[1] === 0xff) {
    return { text: new TextDecoder('utf-16be').decode(bytes), encoding: 'utf-16be' };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    return { text: new TextDecoder('windows-1252').decode(bytes), encoding: 'windows-1252' };
  }
}

/** Whether a quoted value is still open at the end of `line`, given whether one was at its start. */
function endsInsideQuotes(line: string, quotedAtStart: boolean): boolean {
  let quoted = quotedAtStart;
  let valueStart = !quotedAtStart;
  for (let i = 0; i < line.length; i++) {
    const char = line[i]!;
    if (quoted) {
      if (char !== '"') continue;
      if (line[i + 1] === '"') i++;
      else quoted = false;
    } else if (char === ',' || char === ';' || char === '\t') {
      valueStart = true;
      continue;
    } else if (char === '"' && valueStart) {
      quoted = true;
    } else if (char === ' ' && valueStart) {
      continue;
    }
    valueStart = false;
  }
  return quoted;
}

/** What the server said of the file as a whole (a missing column, say), in plain words. */
function fileProblem(e: unknown): string | undefined {
  if (!(e instanceof ApiError)) return undefined;
  const messages = e.errors.filter((f) => f.field === '(body)').map((f) => f.message);
  return messages.length > 0 ? `the file ${messages.join('; ')}.` : undefined;
}

/** CSV import of devices: imports the good rows, lists each bad row with its line and reason. */
export function DeviceImport({
  applicationId,
  onImported,
}: {
  applicationId: string;
  onImported(): void;
}) {
  const [progress, setProgress] = useState<{ done: number; total: number } | null>(null);
  const [result, setResult] = useState<ImportResult | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);

  async function handleFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = '';
    if (!file) return;
    setError(null);
    setResult(null);
    const { text, encoding } = decodeFile(await file.arrayBuffer());
    setNote(
      encoding === 'windows-1252'
        ? 'The file is not UTF-8: it was read as Windows-1252 (Western European), as spreadsheets save CSV there. Check the device names in the Devices table.'
        : null,
    );
    const parts = csvParts(text);
    if (parts.length === 0) {
      setError('The file has no device rows.');
      return;
    }
    const sum: ImportResult = { total: 0, created: 0, failed: 0, ignoredColumns: [], errors: [] };
    setProgress({ done: 0, total: parts.length });
    try {
      for (const [i, part] of parts.entries()) {
        const answer = await unwrap(
          api.POST('/api/applications/{id}/devices/import', {
            params: { path: { id: applicationId }, query: { lineOffset: part.lineOffset } },
            body: part.body,
            bodySerializer: (body: string) => body,
            headers: { 'content-type': 'text/csv' },
          }),
        );
        sum.total += answer.total;
        sum.created += answer.created;
        sum.failed += answer.failed;
        // Every part has the file's header: its ignored columns are the same.
        sum.ignoredColumns = answer.ignoredColumns;
        sum.errors.push(...answer.errors);
        setProgress({ done: i + 1, total: parts.length });
        setResult({ ...sum, errors: [...sum.errors] });
      }
    } catch (e) {
      setError(`The import stopped: ${fileProblem(e) ?? messageFor(e)}`);
    }
    setProgress(null);
    onImported();
  }

  return (
    <div className="card" aria-label="Import devices">
      <h2>Import devices from CSV</h2>
      <p className="muted">
        Columns: name, DevEUI, JoinEUI (or AppEUI), AppKey — or for ABP devices DevAddr, NwkSKey,
        AppSKey. Optional: description, and activation (<code>otaa</code> or <code>abp</code>;
        without it, a row with a DevAddr and no AppKey is ABP). The first row names the columns.
      </p>
      <div className="field">
        <label htmlFor="csv-file">CSV file</label>
        <input
          id="csv-file"
          type="file"
          accept=".csv,text/csv"
          onChange={handleFile}
          disabled={progress !== null}
        />
      </div>
      {progress && (
        <progress
          aria-label="Import progress"
          max={Math.max(1, progress.total)}
          value={progress.done}
        />
      )}
      {error && (
        <p role="alert" className="alert error">
          {error}
        </p>
      )}
      {note && <p className="muted">{note}</p>}
      {result && (
        <div aria-live="polite" className="import-result">
          <p>
            {result.created} of {result.total} devices imported
            {result.failed > 0
              ? `; ${result.failed} ${result.failed === 1 ? 'row' : 'rows'} could not be imported:`
              : '.'}
          </p>
          {result.ignoredColumns.length > 0 && (
            <p className="muted">
              Columns not read (not device fields): {result.ignoredColumns.join(', ')}.
            </p>
          )}
          {result.errors.length > 0 && (
            <ul aria-label="Rows not imported">
              {result.errors.map((e, i) => (
                <li key={i}>
                  Line {e.line}: {e.field ? `${FIELD_LABELS[e.field] ?? e.field} ` : ''}
                  {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
