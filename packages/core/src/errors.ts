/**
 * The closed set of error codes: what kind of thing went wrong, for programs that handle errors (the
 * message is for people). A new kind of failure adds its code here.
 */
export const ERROR_CODES = [
  'config', // a pipeline file, flag or setting that does not validate
  'usage', // the command line itself (unknown command, missing argument)
  'spec', // a model spec that cannot be built
  'data', // a dataset file missing, truncated, of the wrong format or checksum
  'checkpoint', // a checkpoint or Arrow table truncated, corrupt or not matching the spec
  'read', // a stage file that cannot be read or does not match its contract
  'write', // a stage file that cannot be written (disk full, permissions)
  'manifest', // a stage folder's manifest.json missing or malformed
  'integrity', // a file that no longer has the sha256 its manifest recorded
  'verify', // `sgdwalk verify` found problems
  'backend', // no usable TensorFlow.js backend
  'provider', // an ONNX Runtime execution provider that was asked for and cannot be used
  'analyze', // nothing to analyse in a run (no consecutive checkpoints in the window)
  'sharpness', // a sharpness estimate that cannot be made
  'import', // a run from another framework (ONNX graph, safetensors checkpoints) that cannot be imported
  'replay', // a replayed step of an anchored run whose state is not the one training recorded
  'projection', // a run projected to take longer than the limit, not forced (--force, SGDWALK_FORCE=1)
  'queue', // the job queue's Redis unreachable, refusing the password, lost mid-run, or a job failed for good
  'locked', // an output folder another sgdwalk process is writing (its lock names the holder)
  'occupied', // an output folder sgdwalk did not write, which a stage replaces only with --overwrite
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/**
 * Every failure a user can cause (bad file, bad config, missing data) is one of these: it carries the
 * file, field or step it is about, so the CLI prints one clear line and exits non-zero, never a stack trace.
 */
export class SgdwalkError extends Error {
  override readonly name: string = 'SgdwalkError';
  constructor(
    message: string,
    readonly code: ErrorCode,
    readonly where: { file?: string; field?: string; step?: number } = {},
  ) {
    super(message);
  }
}

/** A pipeline file or flag that does not validate: names the file and the field path. */
export class ConfigError extends SgdwalkError {
  override readonly name = 'ConfigError';
  constructor(message: string, file?: string, field?: string) {
    super(`${file ? `${file}: ` : ''}${field ? `field "${field}": ` : ''}${message}`, 'config', { file, field });
  }
}

/** A dataset file that is missing, truncated, of the wrong format or checksum. */
export class DataError extends SgdwalkError {
  override readonly name = 'DataError';
  /** `field`: where the file is a JSON contract (a descriptor, dataset.json), the field path that is wrong. */
  constructor(message: string, file: string, field?: string) {
    super(`${file}: ${message}`, 'data', field === undefined ? { file } : { file, field });
  }
}

/** A checkpoint or Arrow file that is truncated, corrupt, or does not match the model spec. */
export class CheckpointError extends SgdwalkError {
  override readonly name = 'CheckpointError';
  constructor(message: string, file: string, step?: number) {
    super(`${file}${step === undefined ? '' : ` (step ${step})`}: ${message}`, 'checkpoint', { file, step });
  }
}

/** A model spec that cannot be built (bad layer order, shape mismatch): names the layer. */
export class SpecError extends SgdwalkError {
  override readonly name = 'SpecError';
  constructor(message: string, layer?: string) {
    super(`${layer ? `layer ${layer}: ` : ''}${message}`, 'spec', { field: layer });
  }
}
