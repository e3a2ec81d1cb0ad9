import { checkRegularFile } from './bounded-file.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';

/** sha256 of bytes, hex. */
export function sha256(data: ArrayBufferView | string): string {
  const h = createHash('sha256');
  h.update(typeof data === 'string' ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return h.digest('hex');
}

/** sha256 of a file, streamed so large files never sit in memory twice. */
export async function sha256File(path: string): Promise<string> {
  // Streamed, so size is no allocation; but a device (/dev/zero) or a FIFO would stream forever: refused by type.
  // A missing or unreadable file still throws its errno error (callers name ENOENT), from this stat.
  await stat(path);
  await checkRegularFile(path, { maxBytes: Number.MAX_SAFE_INTEGER, what: 'file to hash' });
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** JSON with object keys sorted at every depth: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/** Content hash of a JSON-able value (config sections, settings): independent of key order. */
export function hashJson(value: unknown): string {
  return sha256(canonicalJson(value));
}
