/**
 * Reads the records of a CSV file as people bring them: from TTN's console, a spreadsheet, or
 * typed by hand. A record that cannot be read is reported with its line and the reading goes
 * on after it, so that one stray quote costs one row, not the file.
 *
 * - The separator is the header's: a comma, else a semicolon (spreadsheets in locales with a
 *   decimal comma write those), else a tab.
 * - A quote inside an unquoted value is kept as text (`Tank 5" sensor`); a quote opens a
 *   quoted value only at its start.
 */
import { parse, type CsvError } from 'csv-parse/sync';

export interface CsvRecord {
  /** Line of the text where the record ends (1 is the first line). */
  line: number;
  values: string[];
}

export interface CsvReadError {
  /** Line of the text where the unreadable record starts. */
  line: number;
  message: string;
}

/**
 * Unreadable records reported before the rest of the text is left unread. Each one costs a
 * new parse of the text after it, and a file with this many is not CSV as we read it anyway.
 */
const MAX_UNREADABLE = 100;
const TOO_MANY_UNREADABLE = `and the lines after it were not read: more than ${MAX_UNREADABLE} rows could not be read as CSV`;

export function readCsvRecords(text: string): { records: CsvRecord[]; errors: CsvReadError[] } {
  const starts = lineStarts(text);
  const lineCount = starts.length;
  const firstLine = text.slice(0, starts[1] ?? text.length);
  const delimiter = delimiterOf(firstLine);
  const records: CsvRecord[] = [];
  const errors: CsvReadError[] = [];
  const blank = (line: number) =>
    text.slice(starts[line - 1], starts[line] ?? text.length).trim() === '';
  // Lines of `text` before the part being read.
  let before = 0;
  while (before < lineCount) {
    let lastLine = before;
    try {
      parse(text.slice(starts[before]), {
        bom: before === 0,
        delimiter,
        relax_quotes: true,
        relax_column_count: true,
        skip_empty_lines: true,
        trim: true,
        on_record: (values: string[], { lines: line }) => {
          lastLine = before + line;
          records.push({ line: lastLine, values });
          return null;
        },
      });
      break;
    } catch (error) {
      const failed = error as CsvError & { lines?: number };
      // The record that failed starts after the last one read (blank lines aside).
      let start = lastLine + 1;
      while (start <= lineCount && blank(start)) start++;
      if (errors.length === MAX_UNREADABLE) {
        errors.push({ line: start, message: TOO_MANY_UNREADABLE });
        break;
      }
      errors.push({ line: start, message: messageOf(failed) });
      // Go on after the line where it failed; an unclosed quote took the rest of the text.
      before = Math.max(start, before + (failed.lines ?? lineCount - before));
    }
  }
  return { records, errors };
}

/** Where each line of `text` starts (after \r\n, \n or \r). */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
    if (char === 0x0a || char === 0x0d) starts.push(i + 1);
  }
  return starts;
}

function delimiterOf(header: string): string {
  if (header.includes(',')) return ',';
  if (header.includes(';')) return ';';
  return header.includes('\t') ? '\t' : ',';
}

function messageOf(error: CsvError): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'opens a quoted value that is never closed: this line and every line after it could not be read';
    case 'CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE':
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'has text after the closing quote of a quoted value (write a quote inside one as "")';
    default:
      return 'could not be read as CSV';
  }
}
