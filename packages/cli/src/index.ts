export { main } from './main.js';
export { runWithCudaLibraries } from './gpu-commands.js';
