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

export function readCsvRecords(text: string): { records: CsvRecord[]; errors: CsvReadError[] } {
  const lines = text.split(/\r\n|\n|\r/);
  const delimiter = delimiterOf(lines[0] ?? '');
  const records: CsvRecord[] = [];
  const errors: CsvReadError[] = [];
  // Lines of `text` before the part being read.
  let before = 0;
  while (before < lines.length) {
    let lastLine = before;
    try {
      parse(lines.slice(before).join('\n'), {
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
      while (start <= lines.length && lines[start - 1]!.trim() === '') start++;
      errors.push({ line: start, message: messageOf(failed) });
      // Go on after the line where it failed; an unclosed quote took the rest of the text.
      before = Math.max(start, before + (failed.lines ?? lines.length - before));
    }
  }
  return { records, errors };
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
