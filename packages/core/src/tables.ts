import {
  FILES, type BarrierRow, type EpochEvaluation, type InterpolationRow, type PairMetrics, type SharpnessRow, type StepMetrics,
  type SurfacePathRow, type SurfacePointRow,
} from './contracts.js';

/**
 * The Arrow tables the stages hand each other, each declared once: its file name, its columns in the order
 * they are written with their Arrow type, and its metadata keys. The checkpoints package writes and reads
 * every table through its declaration (writeColumns / writeRows / readColumns / readRows), so a column's
 * Arrow type, a utf8 column's allowed values and a table's metadata keys are decided here and nowhere else;
 * docs/design.md lists the same tables for readers in other languages (pyarrow).
 *
 * Each declaration is checked at compile time against its row interface (contracts.ts): a declaration
 * whose columns disagree with the interface (a missing or extra column, another type, a string union
 * that is not the allowed values) does not compile.
 */

/** The Arrow types sgdwalk tables use: Int32, Float64, Float32, Bool, Utf8, List<Int32>. */
export type ColumnType = 'int32' | 'float64' | 'float32' | 'bool' | 'utf8' | 'list<int32>';

const COLUMN_TYPES: readonly ColumnType[] = ['int32', 'float64', 'float32', 'bool', 'utf8', 'list<int32>'];

/** A column: its Arrow type alone, or with options. */
export type ColumnDeclaration =
  | ColumnType
  | {
      type: ColumnType;
      /** Absent in files written by older versions: readers get `undefined` for it (writers always write it). */
      optional?: boolean;
      /** utf8 only: the values a row may hold; any other is refused on writing and reading. */
      values?: readonly string[];
    };

export type ColumnDeclarations = Readonly<Record<string, ColumnDeclaration>>;

export interface TableDeclaration<C extends ColumnDeclarations = ColumnDeclarations, M extends string = string> {
  /** The file name inside its stage folder. */
  readonly file: string;
  /** In the order they are written. */
  readonly columns: C;
  /** Schema metadata keys: every writer sets all of them, every reader requires them. */
  readonly metadata: readonly M[];
  /** A stage folder may lack the file (older versions did not write it, or the part is disabled): no rows. */
  readonly optional: boolean;
}

interface CellTypes {
  int32: number;
  float64: number;
  float32: number;
  bool: boolean;
  utf8: string;
  'list<int32>': Int32Array;
}

interface ArrayTypes {
  int32: Int32Array;
  float64: Float64Array;
  float32: Float32Array;
  bool: boolean[];
  utf8: string[];
  'list<int32>': Int32Array[];
}

type TypeOf<D> = D extends ColumnType ? D : D extends { type: infer T extends ColumnType } ? T : never;
/** One row's value of a column: a utf8 column with allowed values holds their union. */
export type CellOf<D> = D extends { values: readonly (infer V extends string)[] } ? V : CellTypes[TypeOf<D>];
/** A whole column as the writer takes it and the reader returns it. */
export type ColumnArrayOf<D> = D extends { values: readonly (infer V extends string)[] } ? V[] : ArrayTypes[TypeOf<D>];

type ColumnsOfDecl<T extends TableDeclaration> = T['columns'];
type OptionalKeys<C> = { [K in keyof C]: C[K] extends { optional: true } ? K : never }[keyof C];
type RequiredKeys<C> = Exclude<keyof C, OptionalKeys<C>>;
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** A row as readers get it: optional columns may be absent (a file of an older version). */
export type RowOf<T extends TableDeclaration> = Flatten<
  { [K in RequiredKeys<ColumnsOfDecl<T>> & string]: CellOf<ColumnsOfDecl<T>[K]> } & {
    [K in OptionalKeys<ColumnsOfDecl<T>> & string]?: CellOf<ColumnsOfDecl<T>[K]>;
  }
>;
/** A row as writers give it: every column. */
export type WrittenRowOf<T extends TableDeclaration> = Flatten<{ [K in keyof ColumnsOfDecl<T> & string]: CellOf<ColumnsOfDecl<T>[K]> }>;

/** The columns as readers get them (optional ones may be absent). */
export type ColumnsOf<T extends TableDeclaration> = Flatten<
  { [K in RequiredKeys<ColumnsOfDecl<T>> & string]: ColumnArrayOf<ColumnsOfDecl<T>[K]> } & {
    [K in OptionalKeys<ColumnsOfDecl<T>> & string]?: ColumnArrayOf<ColumnsOfDecl<T>[K]>;
  }
>;
/** The columns as writers give them: every column, each of its declared array type. */
export type WrittenColumnsOf<T extends TableDeclaration> = Flatten<{ [K in keyof ColumnsOfDecl<T> & string]: ColumnArrayOf<ColumnsOfDecl<T>[K]> }>;

/** The metadata of a table: one string per declared key. */
export type MetadataOf<T extends TableDeclaration> = { [K in T['metadata'][number]]: string };

/** true when A and B have the same keys and each is assignable to the other (optional stays optional). */
type Agrees<A, B> = [keyof A] extends [keyof B]
  ? [keyof B] extends [keyof A]
    ? [A] extends [B]
      ? [B] extends [A]
        ? true
        : false
      : false
    : false
  : false;

/** What a declaration that disagrees with its row type is asked for, so that it does not compile. */
interface RowTypeMismatch<Row, Declared> {
  'the columns do not match the row type': { row: Row; declared: Declared };
}

type DeclaredRow<C extends ColumnDeclarations> = RowOf<TableDeclaration<C>>;

/**
 * Declare a table whose rows are `Row`: `declareTable<PairMetrics>()({ file, columns, metadata })`. The
 * columns must describe `Row` exactly (same names, each of the matching type, optional columns optional).
 */
export function declareTable<Row extends object>() {
  return <const C extends ColumnDeclarations, const M extends string = never>(
    spec: { file: string; columns: C; metadata?: readonly M[]; optional?: boolean } & (Agrees<DeclaredRow<C>, Row> extends true
      ? unknown
      : RowTypeMismatch<Row, DeclaredRow<C>>),
  ): TableDeclaration<C, M> => {
    for (const [name, column] of Object.entries(spec.columns)) {
      const { type, values } = columnOf(column);
      if (!COLUMN_TYPES.includes(type)) throw new Error(`table ${spec.file}: column ${name} has no Arrow type sgdwalk writes (${String(type)})`);
      if (values && type !== 'utf8') throw new Error(`table ${spec.file}: column ${name} lists allowed values but is not utf8`);
    }
    return Object.freeze({ file: spec.file, columns: spec.columns, metadata: spec.metadata ?? [], optional: spec.optional ?? false });
  };
}

/** A column declaration with its options spelled out. */
export function columnOf(column: ColumnDeclaration): { type: ColumnType; optional: boolean; values?: readonly string[] } {
  return typeof column === 'string' ? { type: column, optional: false } : { type: column.type, optional: column.optional ?? false, values: column.values };
}

// ---- train: the run folder ----

/** metrics.arrow: one row per step t (θ_{t−1} → θ_t on minibatch B_t); metadata runId. */
export const METRICS_TABLE = declareTable<StepMetrics>()({
  file: FILES.metrics,
  columns: {
    step: 'int32', epoch: 'int32', lr: 'float64', batchSize: 'int32', loss: 'float64', accuracy: 'float64',
    gradNorm: 'float64', gradCosine: 'float64', updateNorm: 'float64', distanceFromInit: 'float64', indices: 'list<int32>',
  },
  metadata: ['runId'],
});

/** evaluations.arrow: one row per epoch end and split; a run that evaluates nothing may lack it. */
export const EVALUATIONS_TABLE = declareTable<EpochEvaluation>()({
  file: FILES.evaluations,
  columns: { epoch: 'int32', step: 'int32', split: { type: 'utf8', values: ['validation', 'test'] }, loss: 'float64', accuracy: 'float64' },
  metadata: ['runId'],
  optional: true,
});

/** One row of state-hashes.arrow: sha256 of θ_t's float32 bytes, as a checkpoint would store it. */
export interface StateHashRow {
  step: number;
  sha256: string;
}

/** state-hashes.arrow of an anchored run (docs/anchors.md): one row per step 0 … steps. */
export const STATE_HASHES_TABLE = declareTable<StateHashRow>()({
  file: 'state-hashes.arrow',
  columns: { step: 'int32', sha256: 'utf8' },
  metadata: ['runId'],
});

// ---- analyze: the analysis folder ----

/** interpolation.arrow (long format): one row per pair and α. */
export const INTERPOLATION_TABLE = declareTable<InterpolationRow>()({
  file: FILES.interpolation,
  columns: { pair: 'int32', stepA: 'int32', stepB: 'int32', alpha: 'float64', loss: 'float64', accuracy: 'float64' },
});

/** pairs.arrow: one row per pair (θ_{t−1}, θ_t). */
export const PAIRS_TABLE = declareTable<PairMetrics>()({
  file: FILES.pairs,
  columns: {
    pair: 'int32', stepA: 'int32', stepB: 'int32', alphaStar: 'float64', floor: 'float64', height: 'float64',
    interiorMinimum: 'bool', convex: 'bool', lossA: 'float64', lossB: 'float64', distanceFromInit: 'float64',
    updateNorm: 'float64', updateCosine: 'float64', key: 'utf8',
  },
});

const BARRIER_KINDS = ['floor', 'lag'] as const;

/** barriers.arrow: one row per barrier; older analyses, or barriers disabled, leave none. */
export const BARRIERS_TABLE = declareTable<BarrierRow>()({
  file: FILES.barriers,
  columns: {
    kind: { type: 'utf8', values: BARRIER_KINDS }, step: 'int32', k: 'int32', barrier: 'float64', alphaAtMax: 'float64',
    lossStart: 'float64', lossEnd: 'float64',
  },
  optional: true,
});

/** One row of barrier-lines.arrow: the loss at α on the line a barrier was measured on, with its content key. */
export interface BarrierLineRow {
  kind: BarrierRow['kind'];
  step: number;
  k: number;
  alpha: number;
  loss: number;
  accuracy: number;
  key: string;
}

/** barrier-lines.arrow (long format): one row per barrier line and α. */
export const BARRIER_LINES_TABLE = declareTable<BarrierLineRow>()({
  file: FILES.barrierLines,
  columns: {
    kind: { type: 'utf8', values: BARRIER_KINDS }, step: 'int32', k: 'int32', alpha: 'float64', loss: 'float64', accuracy: 'float64', key: 'utf8',
  },
  optional: true,
});

/** A sharpness.arrow row: the report's SharpnessRow and the content key it is reused by. */
export type StoredSharpnessRow = SharpnessRow & { key: string };

/** sharpness.arrow: one row per configured step; absent when none is configured. */
export const SHARPNESS_TABLE = declareTable<StoredSharpnessRow>()({
  file: FILES.sharpness,
  columns: {
    step: 'int32', topEigenvalue: 'float64', twoOverLr: 'float64', iterations: 'int32',
    method: { type: 'utf8', values: ['exact', 'finite-difference'] }, subsetSize: 'int32', key: 'utf8',
  },
  optional: true,
});

/** A surfaces.arrow row: the point and the content key of its plane. */
export type StoredSurfacePoint = SurfacePointRow & { key: string };

/** The metadata key of surfaces.arrow that holds the surfaces' summaries (SurfaceSummary[]) as JSON. */
export const SURFACES_METADATA_KEY = 'sgdwalk.surfaces';

/**
 * surfaces.arrow (docs/surfaces.md): one row per evaluated point; metadata `sgdwalk.surfaces` holds the
 * surfaces' summaries as a JSON list. Absent when no surface is configured.
 */
export const SURFACES_TABLE = declareTable<StoredSurfacePoint>()({
  file: FILES.surfaces,
  columns: { surface: 'utf8', a: 'float64', b: 'float64', loss: 'float64', accuracy: 'float64', onGrid: 'bool', key: 'utf8' },
  metadata: [SURFACES_METADATA_KEY],
  optional: true,
});

/** surface-paths.arrow: the window's checkpoints and valley-floor points projected onto every surface. */
export const SURFACE_PATHS_TABLE = declareTable<SurfacePathRow>()({
  file: FILES.surfacePaths,
  columns: {
    surface: 'utf8', kind: { type: 'utf8', values: ['checkpoint', 'floor'] }, step: 'int32', alpha: 'float64',
    a: 'float64', b: 'float64', distance: 'float64',
  },
  optional: true,
});

/** Every declared table of the stage folders, for tests and documentation. */
export const TABLES = {
  metrics: METRICS_TABLE,
  evaluations: EVALUATIONS_TABLE,
  stateHashes: STATE_HASHES_TABLE,
  interpolation: INTERPOLATION_TABLE,
  pairs: PAIRS_TABLE,
  barriers: BARRIERS_TABLE,
  barrierLines: BARRIER_LINES_TABLE,
  sharpness: SHARPNESS_TABLE,
  surfaces: SURFACES_TABLE,
  surfacePaths: SURFACE_PATHS_TABLE,
} as const;
