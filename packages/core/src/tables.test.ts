import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import type { BarrierRow, PairMetrics, StepMetrics } from './contracts.js';
import { columnOf, declareTable, TABLES, type ColumnsOf, type RowOf } from './tables.js';

/**
 * Declarations that disagree with their row type. Each must fail to compile: the `@ts-expect-error` above
 * it is checked by the compiler run below (an unused directive is itself an error), and without the
 * directives the same lines must be errors, so the check cannot pass vacuously.
 */
export function disagreeingDeclarations() {
  const barrierColumns = { step: 'int32', k: 'int32', barrier: 'float64', alphaAtMax: 'float64', lossStart: 'float64', lossEnd: 'float64' } as const;
  return [
    // A column of another type than its field (step is a number, not a string).
    // @ts-expect-error the columns do not match the row type
    declareTable<BarrierRow>()({ file: 'barriers.arrow', columns: { ...barrierColumns, kind: { type: 'utf8', values: ['floor', 'lag'] }, step: 'utf8' } }),
    // A free-text column for a field that is a union of kinds.
    // @ts-expect-error the columns do not match the row type
    declareTable<BarrierRow>()({ file: 'barriers.arrow', columns: { ...barrierColumns, kind: 'utf8' } }),
    // Allowed values beyond the field's union.
    // @ts-expect-error the columns do not match the row type
    declareTable<BarrierRow>()({ file: 'barriers.arrow', columns: { ...barrierColumns, kind: { type: 'utf8', values: ['floor', 'lag', 'ridge'] } } }),
    // A field without its column (PairMetrics.key).
    // @ts-expect-error the columns do not match the row type
    declareTable<Pick<PairMetrics, 'pair' | 'key'>>()({ file: 'pairs.arrow', columns: { pair: 'int32' } }),
    // A column the row type does not have.
    // @ts-expect-error the columns do not match the row type
    declareTable<Pick<PairMetrics, 'pair'>>()({ file: 'pairs.arrow', columns: { pair: 'int32', extra: 'float64' } }),
    // The minibatch indices as a number, not a list<int32>.
    // @ts-expect-error the columns do not match the row type
    declareTable<Pick<StepMetrics, 'step' | 'indices'>>()({ file: 'metrics.arrow', columns: { step: 'int32', indices: 'int32' } }),
    // An optional column for a required field.
    // @ts-expect-error the columns do not match the row type
    declareTable<Pick<PairMetrics, 'pair' | 'key'>>()({ file: 'pairs.arrow', columns: { pair: 'int32', key: { type: 'utf8', optional: true } } }),
  ];
}

/** The derived types are the row interfaces (these lines compile only if they are). */
export function derivedTypes(pairs: RowOf<typeof TABLES.pairs>, barriers: ColumnsOf<typeof TABLES.barriers>): [PairMetrics, Array<BarrierRow['kind']>, Int32Array] {
  const row: PairMetrics = pairs;
  const back: RowOf<typeof TABLES.pairs> = row;
  return [back, barriers.kind, barriers.step];
}

const thisFile = fileURLToPath(import.meta.url);
let previous: ts.Program | undefined;

/** Type-check this file (with `source` in its place) and return the lines (1-based) of its errors. */
function errorLines(source: string): number[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, noEmit: true, skipLibCheck: true, types: ['node'], lib: ['lib.es2023.d.ts'], esModuleInterop: true,
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) =>
    name === thisFile ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest);
  // The second compile reuses the first's parsed libraries (only this file changed).
  const program = ts.createProgram([thisFile], options, host, previous);
  previous = program;
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === thisFile)
    .map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1);
}

describe('table declarations', () => {
  it('declare only Arrow types sgdwalk writes, allowed values only on utf8 columns, unique file names', () => {
    for (const table of Object.values(TABLES)) {
      for (const column of Object.values(table.columns)) {
        const { type, values } = columnOf(column);
        expect(['int32', 'float64', 'float32', 'bool', 'utf8', 'list<int32>']).toContain(type);
        if (values) expect(type).toBe('utf8');
      }
    }
    expect(new Set(Object.values(TABLES).map((t) => t.file)).size).toBe(Object.keys(TABLES).length);
    expect(() => declareTable<{ a: number }>()({ file: 'x.arrow', columns: { a: 'int64' as 'int32' } })).toThrow(/column a has no Arrow type sgdwalk writes \(int64\)/);
  });

  it('do not compile where they disagree with their row type', () => {
    const source = readFileSync(thisFile, 'utf8');
    expect(errorLines(source)).toEqual([]);
    const lines = source.split('\n');
    const expected = lines.flatMap((line, i) => (/^\s*\/\/ @ts-expect-error/.test(line) ? [i + 2] : []));
    expect(expected).toHaveLength(7);
    // Without the directives, exactly the lines under them are errors.
    const stripped = lines.map((line) => (/^\s*\/\/ @ts-expect-error/.test(line) ? '' : line)).join('\n');
    expect(errorLines(stripped)).toEqual(expected);
  }, 120_000);
});
