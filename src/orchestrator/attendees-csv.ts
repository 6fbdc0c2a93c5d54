/**
 * @module Reads an attendee CSV as a stream (any size): a header with an `email` column
 * (any case) and optional `name` (or `first_name` + `last_name`) and `company`. Bad rows — a
 * malformed record, a missing or invalid email — and repeated emails are reported by line and
 * never sent. Valid rows go to `accept` in order, in chunks.
 */
import { createReadStream } from 'node:fs';
import { parse } from 'csv-parse';
import { GiftingError } from '../domain/index.js';

export interface Attendee {
  readonly line: number;
  readonly email: string;
  readonly name: string | null;
  readonly company: string | null;
}

export interface AttendeeReport {
  valid: number;
  readonly invalid: { line: number; reason: string }[];
  readonly duplicates: { line: number; email: string }[];
}

const EMAIL = /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[A-Za-z]{2,}$/;
const CHUNK = 500;

/** Streams `path`, handing valid attendees to `accept` in chunks; returns what was rejected. */
export async function readAttendees(path: string, accept: (attendees: Attendee[]) => void): Promise<AttendeeReport> {
  const report: AttendeeReport = { valid: 0, invalid: [], duplicates: [] };
  const seen = new Set<string>();
  let chunk: Attendee[] = [];
  let headerChecked = false;
  // `pipe` does not forward a read error (a missing or unreadable file) to the parser: the stream
  // would emit it with nobody listening and take the whole process down. Forward it by hand.
  const input = createReadStream(path);
  const parser = parse({
    columns: (header: string[]) => header.map((h) => h.trim().toLowerCase().replace(/\s+/g, '_')),
    skip_empty_lines: true,
    trim: true,
    bom: true,
    info: true,
    // A malformed record is reported and skipped; the rest of the file still counts.
    skip_records_with_error: true,
  });
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);
  parser.on('skip', (error: { message: string; lines?: number }) => {
    report.invalid.push({ line: error.lines ?? 0, reason: `malformed row: ${error.message.replace(/^Invalid Record Length: /, '')}` });
  });
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (!headerChecked) {
        headerChecked = true;
        if (!('email' in record)) {
          throw new GiftingError('bad_request', `${path} has no "email" column (its columns are: ${Object.keys(record).join(', ')}); nothing was sent.`);
        }
      }
      const line = info.lines;
      const email = (record.email ?? '').trim();
      if (!email) {
        report.invalid.push({ line, reason: 'no email' });
        continue;
      }
      if (!EMAIL.test(email)) {
        report.invalid.push({ line, reason: `invalid email "${email}"` });
        continue;
      }
      const key = email.toLowerCase();
      if (seen.has(key)) {
        report.duplicates.push({ line, email });
        continue;
      }
      seen.add(key);
      const name = record.name || [record.first_name, record.last_name].filter(Boolean).join(' ') || null;
      chunk.push({ line, email, name, company: record.company || null });
      report.valid += 1;
      if (chunk.length >= CHUNK) {
        accept(chunk);
        chunk = [];
      }
    }
  } catch (error) {
    if (error instanceof GiftingError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new GiftingError('bad_request', `No such CSV file: ${path}; nothing was sent.`);
    if (code === 'EACCES' || code === 'EPERM') throw new GiftingError('bad_request', `The CSV file ${path} cannot be read (permission denied); nothing was sent.`);
    if (code === 'EISDIR') throw new GiftingError('bad_request', `${path} is a directory, not a CSV file; nothing was sent.`);
    throw new GiftingError('bad_request', `${path} could not be read as CSV: ${(error as Error).message.split('\n')[0]}; nothing was sent.`);
  } finally {
    input.destroy();
  }
  if (!headerChecked) throw new GiftingError('bad_request', `${path} is empty: it needs a header row with an "email" column and one row per attendee.`);
  if (chunk.length > 0) accept(chunk);
  // Skipped (malformed) records are reported as the parser meets them, ahead of the rows read.
  report.invalid.sort((a, b) => a.line - b.line);
  return report;
}
