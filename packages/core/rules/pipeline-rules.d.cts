/** Types of pipeline-rules.cjs (the rules core and the Nx plugin share; see that file). */
export type SweepScalar = number | string | boolean;
export declare const POINT_ID_PATTERN: RegExp;
export declare function sweepValueLabel(value: SweepScalar): string;
export declare function pointId(overrides: Record<string, SweepScalar>): string;
export declare const REPLICATES_KEY: 'replicates';
export declare const REPLICATE_FIELD: 'train.seed';
export declare function expandReplicates(sweep: unknown): unknown;
export declare function sweepCombinations<V = SweepScalar>(sweep: unknown): Record<string, V>[];
export declare function pipelineNameOf(file: string): string;
export declare function defaultOutDir(name: string): string;
export declare function stageSegments(stage: string, point?: string): string[];
export declare const DATA_DIR_ENV: 'SGDWALK_DATA_DIR';
export declare function datasetDirEnv(dataset: string): string;
export declare function dataLocationEnv(dataset: string): [string, string];
export declare const DEFAULT_DATASET: 'mnist';
export declare const STAGE_PACKAGES: { data: 'data'; train: 'train'; analyze: 'analysis'; report: 'report' };
export declare const STAGE_ORDER: ReadonlyArray<readonly ['data' | 'train' | 'analyze' | 'report', 'data' | 'train' | 'analyze' | null]>;
