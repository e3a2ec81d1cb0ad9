#!/usr/bin/env node
import { main, runWithCudaLibraries } from '../dist/index.js';

const argv = process.argv.slice(2);
process.exitCode = (await runWithCudaLibraries(argv)) ?? (await main(argv));
