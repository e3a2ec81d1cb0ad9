/**
 * Stages report through this interface; the CLI decides how it looks (progress bar on a TTY, plain lines
 * otherwise, nothing under --quiet). Stage code never writes to the console itself.
 */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  /** Work done so far out of a known total, for progress lines (steps done, rate, ETA). */
  progress(label: string, done: number, total: number): void;
}

export const silentLogger: Logger = { info() {}, warn() {}, progress() {} };

/** Seconds as a short duration for progress lines: 42s, 3m07s, 1h02m; "?" when unknown. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}
