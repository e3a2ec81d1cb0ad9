import { readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { DataError } from '@sgdwalk/core';
import { describe, expect, it } from 'vitest';
import { checkDescriptor, descriptorPath, type CifarDescriptor, type IdxDescriptor } from './descriptor.js';

const raw = (name: string): unknown => JSON.parse(readFileSync(descriptorPath(name), 'utf8'));
const mnist = raw('mnist') as IdxDescriptor;
const cifar = raw('cifar10') as CifarDescriptor;
const withFile0 = <T extends { files: unknown[] }>(d: T, file: unknown): T => ({ ...d, files: [file, ...d.files.slice(1)] });

function refused(value: unknown): { message: string; field: string | undefined } {
  try {
    checkDescriptor(value, 'x.json');
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).where.file).toBe('x.json');
    return { message: (e as Error).message, field: (e as DataError).where.field };
  }
  throw new Error('accepted');
}

describe('dataset descriptors: one schema, one check', () => {
  it('reads every committed descriptor as written, dropping nothing', () => {
    const names = readdirSync(resolve(import.meta.dirname, '../../../datasets')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    expect(names.length).toBeGreaterThanOrEqual(4);
    for (const name of names) expect(checkDescriptor(raw(name), descriptorPath(name)), name).toEqual(raw(name));
  });

  // Each rule of the contract, with the field it names and what it says.
  const cases: Array<[string, unknown, string, string]> = [
    ['an unknown format', { ...mnist, format: 'csv' }, 'format', '"csv" is not supported (one of "idx", "cifar-binary", "synthetic")'],
    ['no format', { ...mnist, format: undefined }, 'format', 'missing (one of "idx", "cifar-binary", "synthetic")'],
    ['not an object', 3, '(root)', 'not an object'],
    ['a name that is not a string', { ...mnist, name: 3 }, 'name', 'must be a string'],
    ['no location', { ...mnist, location: undefined }, 'location', 'must say how to get the files'],
    ['no way to get the files', { ...mnist, location: {} }, 'location.howToGet', 'must say how to get the files'],
    ['a synthetic dataset without its generator', { name: 's', format: 'synthetic', location: { howToGet: 'x' } }, 'generator', 'must describe the generator'],
    ['too many classes for byte labels', { ...mnist, classes: 300 }, 'classes', 'must be an integer in 1..256 (labels are bytes)'],
    ['an image shape of two axes', { ...mnist, imageShape: [28, 28] }, 'imageShape', 'must be [H, W, C] of positive integers'],
    ['constants computed from another split', { ...mnist, normalization: { from: 'test' } }, 'normalization.from', 'must be "train" (constants computed from the training split)'],
    ['a mean per channel missing', { ...mnist, normalization: { mean: [0.1, 0.2], std: [0.3] } }, 'normalization.mean', 'must hold 1 finite numbers (one per channel)'],
    ['a std per channel missing', { ...mnist, normalization: { mean: [0.1], std: [] } }, 'normalization.std', 'must hold 1 positive numbers (one per channel)'],
    ['no files', { ...mnist, files: [] }, 'files', 'must list the dataset files'],
    ['a file without a name', withFile0(mnist, { ...mnist.files[0], name: '' }), 'files[0].name', 'must be a file name'],
    ['a file without checksum', withFile0(mnist, { name: 'a', bytes: 3 }), 'files[0]', 'needs a sha256 or an md5'],
    ['a file without size', withFile0(mnist, { name: 'a', md5: 'a'.repeat(32) }), 'files[0].bytes', 'must be a byte count'],
    ['a negative size', withFile0(mnist, { ...mnist.files[0], bytes: -1 }), 'files[0].bytes', 'must be a byte count'],
    ['an upper-case sha256', withFile0(mnist, { ...mnist.files[0], sha256: 'A'.repeat(64) }), 'files[0].sha256', 'must be 64 lower-case hex digits'],
    ['a short md5', withFile0(mnist, { ...mnist.files[0], md5: 'abc' }), 'files[0].md5', 'must be 32 lower-case hex digits'],
    ['checksums given both ways', withFile0(mnist, { ...mnist.files[0], versions: [{ bytes: 1, md5: 'a'.repeat(32) }] }), 'files[0]', 'gives both inline checksums and versions; use one'],
    ['an empty version list', withFile0(mnist, { name: 'a', versions: [] }), 'files[0].versions', 'must list at least one version'],
    ['a version without checksum', withFile0(mnist, { name: 'a', versions: [{ bytes: 3 }] }), 'files[0].versions[0]', 'needs a sha256 or an md5'],
    ['a part reading an unlisted file', { ...mnist, parts: { ...mnist.parts, test: { ...mnist.parts.test, images: 'x' } } }, 'parts.test.images', '"x" is not listed in files'],
    ['a part of no examples', { ...mnist, parts: { ...mnist.parts, test: { ...mnist.parts.test, count: 0 } } }, 'parts.test.count', 'must be a positive integer'],
    ['a split of an unknown part', { ...mnist, splits: { ...mnist.splits, test: { part: 'dev', start: 0, count: 1 } } }, 'splits.test.part', '"dev" is not one of parts'],
    ['a split beyond its part', { ...mnist, splits: { ...mnist.splits, validation: { part: 'train', start: 50000, count: 10001 } } }, 'splits.validation', 'range [50000, 60001) does not fit in the 60000 examples of part "train"'],
    ['a CIFAR batch whose versions differ in size', withFile0(cifar, { ...cifar.files[0], versions: [cifar.files[0].versions![0], { ...cifar.files[0].versions![1], bytes: 3073 }] }), 'files[0]', 'every version of a batch file must have the same size'],
    ['a CIFAR batch of part of a record', withFile0(cifar, { name: 'data_batch_1.bin', bytes: 3000, md5: 'a'.repeat(32) }), 'files[0]', '3000 bytes is not a whole number of 3073-byte records'],
    ['a CIFAR part count its files do not hold', { ...cifar, parts: { ...cifar.parts, test: { files: ['test_batch.bin'], count: 9999 } } }, 'parts.test.count', 'must be the 10000 records its files hold'],
    ['a CIFAR part of an unlisted batch', { ...cifar, parts: { ...cifar.parts, test: { files: ['nope.bin'], count: 10000 } } }, 'parts.test.files', '"nope.bin" is not listed in files'],
    ['a CIFAR part without batches', { ...cifar, parts: { ...cifar.parts, test: { files: [], count: 10000 } } }, 'parts.test.files', 'must list the batch files of the part'],
    ['CIFAR class names not one per class', { ...cifar, classNames: ['airplane'] }, 'classNames', 'must list the 10 class names'],
    ['no folder inside the archive', { ...cifar, folder: '' }, 'folder', 'must name the folder inside the archive'],
    ['no class-names file', { ...cifar, classNamesFile: undefined }, 'classNamesFile', 'must name the class-names file'],
    ['an archive without checksums', { ...cifar, archive: { name: 'a.tar.gz', bytes: 10 } }, 'archive', 'needs a sha256 or an md5'],
  ];
  for (const [what, value, field, message] of cases) {
    it(`refuses ${what}, naming the file and "${field}"`, () => {
      expect(refused(value)).toEqual({ message: `x.json: descriptor field "${field}": ${message}`, field });
    });
  }
});
