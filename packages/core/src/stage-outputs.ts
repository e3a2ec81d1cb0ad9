import { FILES } from './contracts.js';
import { SPLIT_NAMES, splitFileNames } from './dataset-file.js';
import type { Manifest } from './manifest.js';
import { STAGE_NAMES } from './sweep.js';
import { TABLES } from './tables.js';

/**
 * What a complete stage folder holds: the one declaration `sgdwalk verify` holds each folder to (issue 24),
 * by the stage its manifest names. Files that depend on the settings the stage ran with are derived from
 * the config its manifest recorded (barriers off: no barrier tables). The names are core's own (FILES,
 * TABLES, the split files); a stage that starts writing a new required file adds it here.
 */
const STAGE_OUTPUTS: Record<string, (manifest: Manifest) => string[]> = {
  data: () => [FILES.dataset, ...SPLIT_NAMES.flatMap((split) => Object.values(splitFileNames(split)))],
  train: (manifest) => [
    FILES.run,
    `${FILES.checkpoints}/index.json`,
    // An imported run has metrics only if they were given (sgdwalk import --metrics).
    ...(manifest.versions.source === 'import' ? [] : [TABLES.metrics.file, TABLES.evaluations.file]),
  ],
  analyze: (manifest) => {
    const config = (manifest.config ?? {}) as AnalyzeRecorded;
    const barriers = config.barriers === undefined || config.barriers.floor !== false || (config.barriers.lags?.length ?? 0) > 0;
    const surfaces = (config.surfaces?.length ?? 0) > 0 || (config.initLine !== undefined && config.initLine !== false);
    return [
      TABLES.interpolation.file, TABLES.pairs.file, FILES.summary,
      ...(barriers ? [TABLES.barriers.file, TABLES.barrierLines.file] : []),
      ...((config.sharpness?.steps?.length ?? 0) > 0 ? [TABLES.sharpness.file] : []),
      ...(surfaces ? [TABLES.surfaces.file, TABLES.surfacePaths.file] : []),
    ];
  },
  report: () => ['index.html', 'summary.md'],
  compare: () => ['comparison.json', 'index.html', 'summary.md'],
};

/** The parts of an analyze manifest's recorded config that decide which tables the stage wrote. */
interface AnalyzeRecorded {
  barriers?: { floor?: boolean; lags?: unknown[] };
  sharpness?: { steps?: unknown[] };
  surfaces?: unknown[];
  initLine?: unknown;
}

/** The stages that write folders, in the order an output root lists them: data, train, analyze, report, compare. */
export const STAGE_FOLDER_ORDER: readonly string[] = [...STAGE_NAMES, 'compare'];

/**
 * The files a complete folder of the manifest's stage must hold and the folder lacks, in path order; []
 * for a stage without a declaration (nothing is known to require).
 */
export function missingStageFiles(manifest: Manifest, present: readonly string[]): string[] {
  const declared = STAGE_OUTPUTS[manifest.stage];
  if (!declared) return [];
  const have = new Set(present);
  return declared(manifest).filter((file) => !have.has(file)).sort();
}
