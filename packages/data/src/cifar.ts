import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError, pathExists, type Logger } from '@sgdwalk/core';
import { Hasher, checkSize, commonVariant, fileSize, hashFile, matchVersions, needsMd5, type FileHashes } from './checksums.js';
import type { CifarDescriptor, FileVersion, SourceFile } from './descriptor.js';
import type { LabelledImages } from './idx.js';
import type { LoadedDataset } from './load.js';
import { howToProvide, type DataLocation } from './sources.js';
import { readTarGz, type TarEntry, type TarSink } from './tar.js';

/**
 * CIFAR-10's binary release (https://www.cs.toronto.edu/~kriz/cifar.html): batch files of 10,000 records,
 * each 1 label byte then 3,072 pixel bytes — the red, green and blue 32×32 planes, row-major (CHW). We read
 * them straight from cifar-10-binary.tar.gz, or from the folder extracted from it, into our HWC layout.
 */

/** Bytes of one record: the label byte and the image's H·W·C pixels. */
export function cifarRecordBytes(imageShape: number[]): number {
  return 1 + imageShape[0] * imageShape[1] * imageShape[2];
}

/** One image from channel planes (CHW) to channel-last (HWC), the layout of the prepared dataset. */
export function chwToHwc(src: Uint8Array, dst: Uint8Array, imageShape: number[]): void {
  const [h, w, c] = imageShape;
  const plane = h * w;
  if (src.length < plane * c || dst.length < plane * c) throw new RangeError(`an ${h}×${w}×${c} image needs ${plane * c} bytes`);
  for (let ch = 0; ch < c; ch++) {
    const base = ch * plane;
    for (let p = 0; p < plane; p++) dst[p * c + ch] = src[base + p];
  }
}

/**
 * A batch file's structure, from its size alone: whole records, as many as the descriptor says. Checked
 * before reading, so a truncated file or one of another layout is named as such, not as a bad checksum.
 */
export function checkBatchSize(size: number, expectedRecords: number, imageShape: number[], where: string, descriptorName: string): void {
  const recordBytes = cifarRecordBytes(imageShape);
  if (size % recordBytes !== 0) {
    // CIFAR-100's binary records carry two label bytes (coarse and fine): the likeliest wrong file.
    const cifar100 = size % (recordBytes + 1) === 0 ? `; it would be ${size / (recordBytes + 1)} records of ${recordBytes + 1} bytes, CIFAR-100's layout` : '';
    throw new DataError(`${size} bytes is not a whole number of ${recordBytes}-byte records (1 label byte + ${recordBytes - 1} pixel bytes)${cifar100}: truncated or not a ${descriptorName} batch file`, where);
  }
  const records = size / recordBytes;
  if (records !== expectedRecords) {
    throw new DataError(`${records} records, the ${descriptorName} descriptor expects ${expectedRecords}${records < expectedRecords ? ': truncated' : ''}`, where);
  }
}

/**
 * Decodes a batch file's records, arriving in any chunking, into their place in a part: labels checked
 * against the class count, images turned from CHW to HWC. A record split across chunks waits in `carry`.
 */
export class CifarBatchDecoder implements TarSink {
  private readonly recordBytes: number;
  private readonly pixels: number;
  private readonly carry: Uint8Array;
  private fill = 0;
  private record = 0;

  constructor(
    private readonly target: LabelledImages,
    private readonly first: number,
    private readonly records: number,
    private readonly imageShape: number[],
    private readonly classes: number,
    private readonly where: string,
  ) {
    this.recordBytes = cifarRecordBytes(imageShape);
    this.pixels = this.recordBytes - 1;
    this.carry = new Uint8Array(this.recordBytes);
  }

  write(chunk: Uint8Array): void {
    let pos = 0;
    if (this.fill > 0) {
      const n = Math.min(this.recordBytes - this.fill, chunk.length);
      this.carry.set(chunk.subarray(0, n), this.fill);
      this.fill += n;
      pos = n;
      if (this.fill < this.recordBytes) return;
      this.decode(this.carry);
      this.fill = 0;
    }
    while (chunk.length - pos >= this.recordBytes) {
      this.decode(chunk.subarray(pos, pos + this.recordBytes));
      pos += this.recordBytes;
    }
    if (pos < chunk.length) {
      this.carry.set(chunk.subarray(pos));
      this.fill = chunk.length - pos;
    }
  }

  private decode(record: Uint8Array): void {
    const i = this.record;
    if (i >= this.records) throw new DataError(`more than the ${this.records} records it should hold`, this.where);
    const label = record[0];
    if (label >= this.classes) {
      throw new DataError(`label ${label} in record ${i} (byte ${i * this.recordBytes}) is out of range (the dataset has ${this.classes} classes, 0..${this.classes - 1})`, this.where);
    }
    const index = this.first + i;
    this.target.labels[index] = label;
    chwToHwc(record.subarray(1), this.target.images.subarray(index * this.pixels, (index + 1) * this.pixels), this.imageShape);
    this.record++;
  }

  end(): void {
    if (this.fill !== 0 || this.record !== this.records) {
      throw new DataError(`truncated: ${this.record} whole records${this.fill ? ` and ${this.fill} bytes` : ''}, expected ${this.records}`, this.where);
    }
  }
}

/** The class names of batches.meta.txt: one per line; blank lines (the official file ends with one) ignored. */
export function parseClassNames(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function checkClassNames(text: string, descriptor: CifarDescriptor, where: string): void {
  const names = parseClassNames(text);
  if (names.join('\n') !== descriptor.classNames.join('\n')) {
    throw new DataError(`class names [${names.join(', ')}], the ${descriptor.name} descriptor expects [${descriptor.classNames.join(', ')}]: a different dataset`, where);
  }
}

/** Where each batch file's records go: its part and its first index there. */
interface BatchPlace {
  file: SourceFile;
  part: string;
  first: number;
  records: number;
}

function planBatches(descriptor: CifarDescriptor): Map<string, BatchPlace> {
  const recordBytes = cifarRecordBytes(descriptor.imageShape);
  const places = new Map<string, BatchPlace>();
  for (const [part, { files }] of Object.entries(descriptor.parts)) {
    let first = 0;
    for (const name of files) {
      const file = descriptor.files.find((f) => f.name === name)!;
      const records = (file.versions?.[0].bytes ?? file.bytes!) / recordBytes;
      places.set(name, { file, part, first, records });
      first += records;
    }
  }
  return places;
}

/** Either form the files come in: the archive, or the folder extracted from it. */
type CifarSource = { kind: 'archive'; path: string } | { kind: 'folder'; dir: string };

/**
 * The archive in the data folder if it is there; else the extracted folder inside it, or the data folder
 * itself when it is the extracted folder (holds the batch files directly).
 */
async function locate(descriptor: CifarDescriptor, location: DataLocation): Promise<CifarSource> {
  const archive = join(location.dir, descriptor.archive.name);
  if (await pathExists(archive)) return { kind: 'archive', path: archive };
  const extracted = join(location.dir, descriptor.folder);
  if (await pathExists(join(extracted, descriptor.files[0].name))) return { kind: 'folder', dir: extracted };
  if (await pathExists(join(location.dir, descriptor.files[0].name))) return { kind: 'folder', dir: location.dir };
  if (await pathExists(extracted)) return { kind: 'folder', dir: extracted }; // incomplete: reading it names what is missing
  throw new DataError(
    `missing: neither ${descriptor.archive.name} nor an extracted ${descriptor.folder} folder is in ${location.dir} (chosen by ${location.setting}); ${howToProvide(descriptor)}`,
    archive,
  );
}

/** A hash mismatch explains any failure to parse a file better than the failure itself: check it first. */
async function preferChecksumError(error: unknown, file: SourceFile, path: string, descriptorName: string, size: number): Promise<never> {
  if (error instanceof DataError) matchVersions(file, await hashFile(path, needsMd5(file, size)), path, descriptorName);
  throw error;
}

/** Hashes a batch while it is decoded; `done` gets its hashes once it is complete. */
class CheckedBatch implements TarSink {
  private readonly hasher: Hasher;
  constructor(
    private readonly decoder: CifarBatchDecoder,
    file: SourceFile,
    size: number,
    private readonly done: (hashes: FileHashes) => void,
  ) {
    this.hasher = new Hasher(needsMd5(file, size));
  }
  write(chunk: Uint8Array): void {
    this.hasher.update(chunk);
    this.decoder.write(chunk);
  }
  end(): void {
    this.decoder.end();
    this.done(this.hasher.digest());
  }
}

/** One read of the batch files, from either form: where each goes, and what their checks found. */
interface Reading {
  descriptor: CifarDescriptor;
  places: Map<string, BatchPlace>;
  decoderFor(place: BatchPlace, where: string): CifarBatchDecoder;
  /** sha256 of each batch file read, by name. */
  hashes: Map<string, string>;
  /** The versions each file read matched, for the one-release check. */
  matched: Array<{ where: string; versions: FileVersion[] }>;
}

/**
 * Load CIFAR-10 (any descriptor of the cifar-binary format) from `location`: structure and checksums of
 * every batch (and of the archive when reading one), class names, and every label checked; the parts
 * filled in HWC, one uint8 copy of the data in memory and no float copy.
 */
export async function loadCifar(descriptor: CifarDescriptor, location: DataLocation, log?: Logger): Promise<LoadedDataset> {
  const source = await locate(descriptor, location);
  const places = planBatches(descriptor);
  const pixels = cifarRecordBytes(descriptor.imageShape) - 1;
  const parts: Record<string, LabelledImages> = {};
  for (const [name, { count }] of Object.entries(descriptor.parts)) {
    parts[name] = { images: new Uint8Array(count * pixels), labels: new Uint8Array(count), count };
  }
  const reading: Reading = {
    descriptor,
    places,
    decoderFor: (place, where) => new CifarBatchDecoder(parts[place.part], place.first, place.records, descriptor.imageShape, descriptor.classes, where),
    hashes: new Map(),
    matched: [],
  };
  let archiveSha256: string | undefined;
  if (source.kind === 'archive') {
    log?.info(`data: reading ${source.path}`);
    archiveSha256 = await readArchive(reading, source.path);
  } else {
    log?.info(`data: reading the extracted folder ${source.dir}`);
    await readFolder(reading, source.dir, log);
  }
  const variant = commonVariant(reading.matched, descriptor.name);
  // In the descriptor's order whichever form was read, so both give the same dataset.json.
  const sources = Object.fromEntries([...places.keys()].map((name) => [name, reading.hashes.get(name)!]));
  return {
    imageShape: [...descriptor.imageShape],
    classes: descriptor.classes,
    parts,
    splits: descriptor.splits,
    normalization: descriptor.normalization,
    sources,
    inputs: archiveSha256 === undefined ? sources : { [descriptor.archive.name]: archiveSha256 },
    variant,
  };
}

/**
 * The archive in one streaming pass: its bytes hashed while they are decompressed, untarred and decoded;
 * each batch member checked (structure, size, checksum) as it arrives. Returns the archive's sha256.
 */
async function readArchive(r: Reading, path: string): Promise<string> {
  const { descriptor, places } = r;
  const size = await fileSize(path, () => 'missing');
  checkSize(descriptor.archive, size, path, descriptor.name, howToProvide(descriptor));
  const archiveHasher = new Hasher(needsMd5(descriptor.archive, size));
  const prefix = `${descriptor.folder}/`;
  const seen = new Set<string>();
  const memberMatches: Reading['matched'] = [];
  let classNames: { text: string; where: string } | undefined;

  const onEntry = (entry: TarEntry): TarSink | undefined => {
    if (entry.type !== 'file' || !entry.name.startsWith(prefix)) return undefined;
    const name = entry.name.slice(prefix.length);
    // A member is named archive:member, as git names a file at a revision.
    const where = `${path}:${entry.name}`;
    const place = places.get(name);
    if (!place && name !== descriptor.classNamesFile) return undefined; // readme.html and the like
    if (seen.has(name)) throw new DataError(`the archive holds ${entry.name} twice`, path);
    seen.add(name);
    if (!place) {
      if (entry.size > 1 << 16) throw new DataError(`${entry.size} bytes: far too large for a list of class names`, where);
      const chunks: Uint8Array[] = [];
      return { write: (chunk) => chunks.push(chunk.slice()), end: () => (classNames = { text: Buffer.concat(chunks).toString('utf8'), where }) };
    }
    checkBatchSize(entry.size, place.records, descriptor.imageShape, where, descriptor.name);
    checkSize(place.file, entry.size, where, descriptor.name);
    return new CheckedBatch(r.decoderFor(place, where), place.file, entry.size, (hashes) => {
      memberMatches.push({ where, versions: matchVersions(place.file, hashes, where, descriptor.name) });
      r.hashes.set(name, hashes.sha256);
    });
  };

  try {
    await readTarGz(path, onEntry, (chunk) => archiveHasher.update(chunk));
  } catch (e) {
    await preferChecksumError(e, descriptor.archive, path, descriptor.name, size);
  }
  const archiveHashes = archiveHasher.digest();
  r.matched.push({ where: path, versions: matchVersions(descriptor.archive, archiveHashes, path, descriptor.name) }, ...memberMatches);
  for (const name of [...places.keys(), descriptor.classNamesFile]) {
    if (!seen.has(name)) throw new DataError(`the archive has no member ${prefix}${name}: not the ${descriptor.name} binary archive`, path);
  }
  checkClassNames(classNames!.text, descriptor, classNames!.where);
  return archiveHashes.sha256;
}

/** The extracted folder: every file's presence and structure first, then each batch streamed and checked. */
async function readFolder(r: Reading, dir: string, log?: Logger): Promise<void> {
  const { descriptor, places } = r;
  const missing = () => `missing from the extracted folder ${dir}; ${howToProvide(descriptor)}`;
  const sizes = new Map<string, number>();
  for (const [name, place] of places) {
    const path = join(dir, name);
    const size = await fileSize(path, missing);
    checkBatchSize(size, place.records, descriptor.imageShape, path, descriptor.name);
    checkSize(place.file, size, path, descriptor.name, howToProvide(descriptor));
    sizes.set(name, size);
  }
  const classNamesPath = join(dir, descriptor.classNamesFile);
  await fileSize(classNamesPath, missing);
  let done = 0;
  for (const [name, place] of places) {
    const path = join(dir, name);
    const size = sizes.get(name)!;
    let hashes: FileHashes | undefined;
    const sink = new CheckedBatch(r.decoderFor(place, path), place.file, size, (h) => (hashes = h));
    try {
      for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) sink.write(chunk as Buffer);
      sink.end();
    } catch (e) {
      const error = e instanceof DataError ? e : new DataError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
      await preferChecksumError(error, place.file, path, descriptor.name, size);
    }
    r.matched.push({ where: path, versions: matchVersions(place.file, hashes!, path, descriptor.name) });
    r.hashes.set(name, hashes!.sha256);
    log?.progress('read', ++done, places.size);
  }
  checkClassNames(await readFile(classNamesPath, 'utf8'), descriptor, classNamesPath);
}
