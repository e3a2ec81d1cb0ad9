import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their TypeScript sources (the "sgdwalk-source" export condition),
// so `vitest` needs no build; the CLI and the Nx pipeline run the built dist/.
const conditions = ['sgdwalk-source', 'module', 'node', 'development|production'];
const packages = ['core', 'data', 'checkpoints', 'model', 'onnx', 'train', 'analysis', 'interop', 'queue', 'report', 'cli'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['sgdwalk-source'] } },
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      ...packages.map((name) => ({ extends: true as const, test: { name, root: `packages/${name}`, include: ['src/**/*.test.ts', 'test/**/*.test.ts'] } })),
      { extends: true as const, test: { name: 'e2e', root: 'test', include: ['**/*.test.ts'], testTimeout: 600_000 } },
    ],
  },
});
