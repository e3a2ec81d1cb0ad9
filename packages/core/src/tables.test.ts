import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
const docsDir = fileURLToPath(new URL('../../../docs/', import.meta.url));

/**
 * The text that documents a table in docs/: a `### \`file\`` section, a `- \`file\`` bullet (with its
 * continuation lines) or a `| \`file\` |` table row.
 */
function documentation(file: string): string | undefined {
  for (const doc of ['design.md', 'anchors.md', 'surfaces.md']) {
    const lines = readFileSync(join(docsDir, doc), 'utf8').split('\n');
    const at = lines.findIndex((line) => line.startsWith(`### \`${file}\``) || line.startsWith(`- \`${file}\``) || line.startsWith(`| \`${file}\` |`));
    if (at < 0) continue;
    const head = lines[at];
    let end = at + 1;
    const continues = (line: string) =>
      head.startsWith('###') ? !line.startsWith('#') : head.startsWith('- ') ? line.startsWith('  ') : false;
    while (end < lines.length && continues(lines[end])) end++;
    return lines.slice(at, end).join('\n');
  }
  return undefined;
}

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

  it('are what docs/ lists for readers in other languages: every column in order with its type, allowed values, metadata keys', () => {
    for (const table of Object.values(TABLES)) {
      const text = documentation(table.file);
      expect(text, `${table.file} is documented in docs/`).toBeDefined();
      let last = -1;
      for (const [name, declaration] of Object.entries(table.columns)) {
        const { type, values } = columnOf(declaration);
        const at = text!.indexOf(`\`${name}\``);
        expect(at, `${table.file}: column ${name} is documented`).toBeGreaterThan(-1);
        expect(at, `${table.file}: column ${name} is documented in written order`).toBeGreaterThan(last);
        last = at;
        const documented = /(list<int32>|int32|float64|float32|bool|utf8)/i.exec(text!.slice(at + name.length + 2));
        expect(documented?.[1].toLowerCase(), `${table.file}: the type of column ${name}`).toBe(type);
        for (const value of values ?? []) expect(text, `${table.file}: column ${name}'s value ${value}`).toContain(`\`${value}\``);
      }
      for (const key of table.metadata) expect(text, `${table.file}: metadata ${key}`).toContain(`\`${key}\``);
    }
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
