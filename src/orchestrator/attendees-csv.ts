/**
 * @module Reads an attendee CSV as a stream (any size): a header with an `email` column
 * (any case) and optional `name` (or `first_name` + `last_name`) and `company`. Bad rows — a
 * malformed record, a missing or invalid email — and repeated emails are reported by line and
 * never sent. Valid rows go to `accept` in order, in chunks. Repeats are found with
 * {@link AttendeeKeys}, which keeps the addresses met so far outside the JavaScript heap.
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

/**
 * The addresses a file has met so far (lower-cased), to tell a repeat: their UTF-8 bytes, where
 * each ends, and an open-addressing table of entry numbers, in three typed arrays. A `Set` of
 * strings held every address of the file as a heap object (about 80 bytes each) while it was
 * read; a 100k-row file's set was alive when V8 sized the heap, which then let the old generation
 * grow to twice what the batch kept afterwards. Here each key costs its length plus about 12
 * bytes, in memory the collector never traces. Exact: a hash match is confirmed byte by byte.
 */
export class AttendeeKeys {
  private bytes = new Uint8Array(16 * 1024);
  private used = 0;
  /** `ends[i]`: where entry i's bytes end (entry i starts where entry i - 1 ends). */
  private ends = new Uint32Array(512);
  private count = 0;
  /** Entry number + 1 per slot (0: empty); a power of two, at most half full. */
  private table = new Int32Array(1024);
  private readonly encoder = new TextEncoder();
  private scratch = new Uint8Array(256);

  /** Adds `key`; false if it was already there. */
  add(key: string): boolean {
    if (this.scratch.length < key.length * 3) this.scratch = new Uint8Array(key.length * 3);
    const length = this.encoder.encodeInto(key, this.scratch).written;
    const hash = hashBytes(this.scratch, 0, length);
    const mask = this.table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot]! - 1;
      if (entry < 0) break;
      if (this.equals(entry, this.scratch, length)) return false;
    }
    this.append(length);
    this.insert(this.count - 1, hash);
    if (this.count * 2 > this.table.length) this.rehash();
    return true;
  }

  /** Keys held. */
  get size(): number {
    return this.count;
  }

  /** Bytes allocated for the keys (all of it outside the JavaScript heap). */
  get byteLength(): number {
    return this.bytes.byteLength + this.ends.byteLength + this.table.byteLength + this.scratch.byteLength;
  }

  private start(entry: number): number {
    return entry === 0 ? 0 : this.ends[entry - 1]!;
  }

  private equals(entry: number, bytes: Uint8Array, length: number): boolean {
    const start = this.start(entry);
    if (this.ends[entry]! - start !== length) return false;
    for (let i = 0; i < length; i++) if (this.bytes[start + i] !== bytes[i]) return false;
    return true;
  }

  private append(length: number): void {
    if (this.used + length > this.bytes.length) this.bytes = grown(this.bytes, this.used + length);
    this.bytes.set(this.scratch.subarray(0, length), this.used);
    this.used += length;
    if (this.count === this.ends.length) this.ends = grown(this.ends, this.count + 1);
    this.ends[this.count++] = this.used;
  }

  private insert(entry: number, hash: number): void {
    const mask = this.table.length - 1;
    let slot = hash & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = entry + 1;
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2);
    for (let entry = 0; entry < this.count; entry++) this.insert(entry, hashBytes(this.bytes, this.start(entry), this.ends[entry]!));
  }
}

/** FNV-1a over `bytes[from, to)`. */
function hashBytes(bytes: Uint8Array, from: number, to: number): number {
  let hash = 0x811c9dc5;
  for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

/** A copy of `array` with room for at least `needed` elements (half as much again, or more). */
function grown<T extends Uint8Array | Uint32Array>(array: T, needed: number): T {
  const copy = new (array.constructor as new (length: number) => T)(Math.max(needed, Math.ceil(array.length * 1.5)));
  copy.set(array);
  return copy;
}

/** Streams `path`, handing valid attendees to `accept` in chunks; returns what was rejected. */
export async function readAttendees(path: string, accept: (attendees: Attendee[]) => void): Promise<AttendeeReport> {
  const report: AttendeeReport = { valid: 0, invalid: [], duplicates: [] };
  const seen = new AttendeeKeys();
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
      if (!seen.add(email.toLowerCase())) {
        report.duplicates.push({ line, email });
        continue;
      }
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
