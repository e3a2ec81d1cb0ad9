/**
 * Every failure a user can cause (bad file, bad config, diverging run) is one of these: it carries the
 * file, field or step it is about, so the CLI prints one clear line and exits non-zero, never a stack trace.
 */
export class SgdwalkError extends Error {
  override readonly name: string = 'SgdwalkError';
  constructor(
    message: string,
    readonly code: string,
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
  constructor(message: string, file: string) {
    super(`${file}: ${message}`, 'data', { file });
  }
}

/** A checkpoint or Arrow file that is truncated, corrupt, or does not match the model spec. */
export class CheckpointError extends SgdwalkError {
  override readonly name = 'CheckpointError';
  constructor(message: string, file: string, step?: number) {
    super(`${file}${step === undefined ? '' : ` (step ${step})`}: ${message}`, 'checkpoint', { file, step });
  }
}

/** Training produced a non-finite loss or parameter. */
export class DivergenceError extends SgdwalkError {
  override readonly name = 'DivergenceError';
  constructor(message: string, step: number) {
    super(`diverged at step ${step}: ${message}`, 'divergence', { step });
  }
}

/** A model spec that cannot be built (bad layer order, shape mismatch): names the layer. */
export class SpecError extends SgdwalkError {
  override readonly name = 'SpecError';
  constructor(message: string, layer?: string) {
    super(`${layer ? `layer ${layer}: ` : ''}${message}`, 'spec', { field: layer });
  }
}
