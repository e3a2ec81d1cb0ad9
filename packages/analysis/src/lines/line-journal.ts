import { mkdir, open, readFile, rm, truncate, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from '@sgdwalk/core';
import type { InterpolationCurve } from '../engines/engine.js';
import { remember, type KnownLines } from './known-lines.js';

/**
 * The analysis' journal of finished lines: each line's values are appended (and fsync'd) as soon as they
 * are known, under the line's content key, so an analysis killed at any moment (kill -9, power loss) and run
 * again computes only what is missing. It lives beside the stage's folder, not in the staging folder (which
 * a stage that fails starts afresh), and goes when the analysis has written its tables. A content key names
 * everything a value depends on, so a journal left by another configuration is still right where it matches,
 * and ignored where it does not. Like training's resume journal (packages/train/src/resume-journal.ts).
 */

/** Where the journal of the analysis writing `analyzeDir` is kept: a dot-file beside that folder. */
export function lineJournalBeside(analyzeDir: string): string {
  return join(dirname(analyzeDir), `.${basename(analyzeDir)}.lines.jsonl`);
}

interface JournalRecord {
  key: string;
  alphas: number[];
  loss: number[];
  accuracy: number[];
}

/** JSON has no NaN or ±Infinity; non-finite numbers travel as strings and come back exactly. */
const encode = (value: JournalRecord) => JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
const decode = (line: string): JournalRecord =>
  JSON.parse(line, (_k, v: unknown) => (v === 'NaN' || v === 'Infinity' || v === '-Infinity' ? Number(v) : v)) as JournalRecord;

function isRecord(value: JournalRecord): boolean {
  const numbers = (a: unknown, n: number) => Array.isArray(a) && a.length === n && a.every((x) => typeof x === 'number');
  return typeof value?.key === 'string' && Array.isArray(value.alphas) && numbers(value.alphas, value.alphas.length) &&
    numbers(value.loss, value.alphas.length) && numbers(value.accuracy, value.alphas.length);
}

export class LineJournal {
  private closed = false;

  private constructor(private readonly path: string, private readonly file: FileHandle) {}

  /**
   * Open the journal at `path`, adding what an earlier, interrupted analysis finished to `known`, and
   * return it with how many lines it held. A line torn by a crash (the last, without its newline) is cut
   * off before appending; a damaged one ends what is read, with a warning.
   */
  static async open(path: string, known: KnownLines, log: Logger): Promise<{ journal: LineJournal; lines: number }> {
    const text = await readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    let kept = 0;
    let lines = 0;
    for (const line of text.split('\n').slice(0, -1)) {
      let record: JournalRecord | undefined;
      try {
        record = decode(line);
      } catch {
        record = undefined;
      }
      if (!record || !isRecord(record)) {
        log.warn(`${path}: line ${lines + 1} is damaged; the lines after it are computed again`);
        break;
      }
      remember(known, record.key, record.alphas, { lossPerAlpha: Float64Array.from(record.loss), accuracyPerAlpha: Float64Array.from(record.accuracy) });
      kept += Buffer.byteLength(line, 'utf8') + 1;
      lines++;
    }
    if (kept < Buffer.byteLength(text, 'utf8')) await truncate(path, kept);
    await mkdir(dirname(path), { recursive: true });
    return { journal: new LineJournal(path, await open(path, 'a')), lines };
  }

  /** Append one finished line and make it durable before going on. */
  async add(key: string, alphas: readonly number[], curve: InterpolationCurve): Promise<void> {
    await this.file.appendFile(encode({ key, alphas: [...alphas], loss: Array.from(curve.lossPerAlpha), accuracy: Array.from(curve.accuracyPerAlpha) }) + '\n');
    await this.file.datasync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.file.close();
  }

  /** The analysis has written its tables: what the journal held is in them now. */
  async remove(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }
}
