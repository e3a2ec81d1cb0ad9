/** @sgdwalk/queue: the analysis over BullMQ workers on Redis — the coordinator's line queue and the worker. */
export { lineQueue, type LineQueueOptions } from './coordinator.js';
export { runWorker, type WorkerOptions, type WorkerSummary } from './worker.js';
export { parseQueueUrl, redactUrl, QUEUE_ENV, type RedisTarget } from './queue-url.js';
export { parsePathMap, type PathMap } from './path-map.js';
export { QueueError } from './redis-target.js';
export { lineQueueStatus, type LineQueueStatus, type LineJobRecord } from './queue-status.js';
