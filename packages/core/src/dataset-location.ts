import rules from '../rules/pipeline-rules.cjs';

/**
 * The environment variables that choose where a dataset's files are (after the pipeline's data.dir):
 * the per-dataset one, then SGDWALK_DATA_DIR. The rule is in rules/pipeline-rules.cjs because the Nx
 * plugin hashes the same variables into the data stage's cache key.
 */
export const DATA_DIR_ENV: string = rules.DATA_DIR_ENV;

/** e.g. SGDWALK_CIFAR10_DIR, SGDWALK_FASHION_MNIST_DIR: it wins over SGDWALK_DATA_DIR. */
export function datasetDirEnv(dataset: string): string {
  return rules.datasetDirEnv(dataset);
}

/** The variables consulted for a dataset, in order. */
export function dataLocationEnv(dataset: string): string[] {
  return rules.dataLocationEnv(dataset);
}
