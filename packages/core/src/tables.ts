import { FILES } from './contracts.js';

/**
 * The Arrow tables the stages hand each other, each declared once: its file name, its columns in the order
 * they are written with their Arrow type, and its metadata keys. The checkpoints package writes and reads
 * every table through its declaration (writeColumns / writeRows / readColumns / readRows), so a column's
 * Arrow type, a utf8 column's allowed values and a table's metadata keys are decided here and nowhere else;
 * docs/design.md lists the same tables for readers in other languages (pyarrow).
 *
 * The row types are derived from the declarations (`RowOf<typeof PAIRS_TABLE>`), so each column is written
 * once. A table declared for a row type written elsewhere (`declareTable<Row>()`) is checked against it at
 * compile time: columns that disagree with the type (a missing or extra column, another type, a string
 * union that is not the allowed values) do not compile.
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
 * Declare a table: `declareTable()({ file, columns, metadata })`, its row type then `RowOf<typeof TABLE>`.
 * With a row type, `declareTable<Row>()(…)`, the columns must describe `Row` exactly (same names, each of
 * the matching type, optional columns optional).
 */
export function declareTable<Row extends object | undefined = undefined>() {
  return <const C extends ColumnDeclarations, const M extends string = never>(
    spec: { file: string; columns: C; metadata?: readonly M[]; optional?: boolean } & ([Row] extends [undefined]
      ? unknown
      : Agrees<DeclaredRow<C>, Row> extends true
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
export const METRICS_TABLE = declareTable()({
  file: FILES.metrics,
  columns: {
    step: 'int32', epoch: 'int32', lr: 'float64', batchSize: 'int32',
    /** Minibatch cross-entropy at θ_{t−1} (no weight-decay term), BN in batch-statistics mode. */
    loss: 'float64',
    accuracy: 'float64',
    /** ‖g_t‖₂ of the minibatch cross-entropy gradient over trainable parameters. */
    gradNorm: 'float64',
    /** cos(g_{t−1}, g_t); NaN at step 1. */
    gradCosine: 'float64',
    /** ‖θ_t − θ_{t−1}‖₂ over trainable parameters. */
    updateNorm: 'float64',
    /** ‖θ_t − θ_0‖₂ over trainable parameters. */
    distanceFromInit: 'float64',
    /** Training-split indices of B_t. */
    indices: 'list<int32>',
  },
  metadata: ['runId'],
});

/** One row of metrics.arrow: step t moved θ_{t−1} to θ_t on minibatch B_t. */
export type StepMetrics = RowOf<typeof METRICS_TABLE>;

/** evaluations.arrow: one row per epoch end and split; a run that evaluates nothing may lack it. */
export const EVALUATIONS_TABLE = declareTable()({
  file: FILES.evaluations,
  columns: { epoch: 'int32', step: 'int32', split: { type: 'utf8', values: ['validation', 'test'] }, loss: 'float64', accuracy: 'float64' },
  metadata: ['runId'],
  optional: true,
});

/** One row of evaluations.arrow: full-split evaluation at the end of an epoch (running-statistics BN). */
export type EpochEvaluation = RowOf<typeof EVALUATIONS_TABLE>;

/** state-hashes.arrow of an anchored run (docs/anchors.md): one row per step 0 … steps. */
export const STATE_HASHES_TABLE = declareTable()({
  file: 'state-hashes.arrow',
  columns: {
    step: 'int32',
    /** sha256 of θ_t's float32 bytes, as a checkpoint would store it. */
    sha256: 'utf8',
  },
  metadata: ['runId'],
});

/** One row of state-hashes.arrow. */
export type StateHashRow = RowOf<typeof STATE_HASHES_TABLE>;

// ---- analyze: the analysis folder ----

/** interpolation.arrow (long format): one row per pair and α. */
export const INTERPOLATION_TABLE = declareTable()({
  file: FILES.interpolation,
  columns: { pair: 'int32', stepA: 'int32', stepB: 'int32', alpha: 'float64', loss: 'float64', accuracy: 'float64' },
});

/** One row of interpolation.arrow (long format). */
export type InterpolationRow = RowOf<typeof INTERPOLATION_TABLE>;

/** pairs.arrow: one row per pair (θ_{t−1}, θ_t). */
export const PAIRS_TABLE = declareTable()({
  file: FILES.pairs,
  columns: {
    pair: 'int32', stepA: 'int32', stepB: 'int32', alphaStar: 'float64', floor: 'float64', height: 'float64',
    interiorMinimum: 'bool', convex: 'bool', lossA: 'float64', lossB: 'float64', distanceFromInit: 'float64',
    updateNorm: 'float64', updateCosine: 'float64',
    /** Content key the result is stored under: checkpoint hashes, evaluation-set hash, settings. */
    key: 'utf8',
  },
});

/** One row of pairs.arrow: the derived metrics of the pair (θ_{t−1}, θ_t), `pair` = t. */
export type PairMetrics = RowOf<typeof PAIRS_TABLE>;

const BARRIER_KINDS = ['floor', 'lag'] as const;

/** barriers.arrow: one row per barrier; older analyses, or barriers disabled, leave none. */
export const BARRIERS_TABLE = declareTable()({
  file: FILES.barriers,
  columns: {
    kind: { type: 'utf8', values: BARRIER_KINDS }, step: 'int32', k: 'int32', barrier: 'float64', alphaAtMax: 'float64',
    lossStart: 'float64', lossEnd: 'float64',
  },
  optional: true,
});

/**
 * One row of barriers.arrow.
 * kind 'floor': the segment from pair t's floor point θ_t(α*_t) to pair t+1's (k = 1); barrier = max on the
 * segment − max of its two ends. kind 'lag': B(t, k) = max_α [L(θ(α)) − ((1−α)L(θ_t) + αL(θ_{t+k}))] on the
 * line θ_t → θ_{t+k}. `alphaAtMax` is where the maximum sits; lossStart/lossEnd are the line's end losses.
 */
export type BarrierRow = RowOf<typeof BARRIERS_TABLE>;

/** barrier-lines.arrow (long format): one row per barrier line and α. */
export const BARRIER_LINES_TABLE = declareTable()({
  file: FILES.barrierLines,
  columns: {
    kind: { type: 'utf8', values: BARRIER_KINDS }, step: 'int32', k: 'int32', alpha: 'float64', loss: 'float64', accuracy: 'float64', key: 'utf8',
  },
  optional: true,
});

/** One row of barrier-lines.arrow: the loss at α on the line a barrier was measured on, with its content key. */
export type BarrierLineRow = RowOf<typeof BARRIER_LINES_TABLE>;

/** sharpness.arrow: one row per configured step; absent when none is configured. */
export const SHARPNESS_TABLE = declareTable()({
  file: FILES.sharpness,
  columns: {
    step: 'int32', topEigenvalue: 'float64', twoOverLr: 'float64', iterations: 'int32',
    /** 'exact' (double backprop) or 'finite-difference' Hessian-vector products. */
    method: { type: 'utf8', values: ['exact', 'finite-difference'] },
    subsetSize: 'int32',
    /** The content key the row is reused by. */
    key: 'utf8',
  },
  optional: true,
});

/** A sharpness.arrow row: the step's top Hessian eigenvalue and its content key. */
export type StoredSharpnessRow = RowOf<typeof SHARPNESS_TABLE>;
/** The report's sharpness row: top Hessian eigenvalue of the training loss on a fixed subset, beside 2/η. */
export type SharpnessRow = Omit<StoredSharpnessRow, 'key'>;

/** The metadata key of surfaces.arrow that holds the surfaces' summaries (SurfaceSummary[]) as JSON. */
export const SURFACES_METADATA_KEY = 'sgdwalk.surfaces';

/**
 * surfaces.arrow (docs/surfaces.md): one row per evaluated point; metadata `sgdwalk.surfaces` holds the
 * surfaces' summaries as a JSON list. Absent when no surface is configured.
 */
export const SURFACES_TABLE = declareTable()({
  file: FILES.surfaces,
  columns: {
    surface: 'utf8', a: 'float64', b: 'float64', loss: 'float64', accuracy: 'float64',
    /** false for a point evaluated beside the grid (the centre, when the grid does not hold it). */
    onGrid: 'bool',
    /** The content key of the point's plane. */
    key: 'utf8',
  },
  metadata: [SURFACES_METADATA_KEY],
  optional: true,
});

/** A surfaces.arrow row: the loss and accuracy at θ_c + a·d₁ + b·d₂ of one surface, and its plane's key. */
export type StoredSurfacePoint = RowOf<typeof SURFACES_TABLE>;
/** A point of a surface, as the report reads it. */
export type SurfacePointRow = Omit<StoredSurfacePoint, 'key'>;

/** surface-paths.arrow: the window's checkpoints and valley-floor points projected onto every surface. */
export const SURFACE_PATHS_TABLE = declareTable()({
  file: FILES.surfacePaths,
  columns: {
    surface: 'utf8', kind: { type: 'utf8', values: ['checkpoint', 'floor'] }, step: 'int32', alpha: 'float64',
    a: 'float64', b: 'float64',
    /** How far the state lies off the plane (the line), over the trainable parameters. */
    distance: 'float64',
  },
  optional: true,
});

/**
 * One row of surface-paths.arrow: a state projected onto a surface. kind 'checkpoint': the stored step
 * `step` (alpha NaN); kind 'floor': pair (stepA, step)'s valley-floor point θ(α*), α* in `alpha`.
 */
export type SurfacePathRow = RowOf<typeof SURFACE_PATHS_TABLE>;

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
