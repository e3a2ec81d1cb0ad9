export { main, DEFAULT_PIPELINE } from './main.js';
