import { readlinkSync } from 'node:fs';

/**
 * How progress is shown: `bar`, one line redrawn in place (a terminal); `lines`, a plain line every few
 * seconds (a log file, CI); `off`.
 */
export type ProgressMode = 'bar' | 'lines' | 'off';

const MODES: readonly ProgressMode[] = ['bar', 'lines', 'off'];

/** Whether a file descriptor's target (as /proc shows it) is a terminal: /dev/pts/N, /dev/ttyN, /dev/console. */
export function isTerminalDevice(target: string): boolean {
  return /^\/dev\/(pts\/\d+|tty\w*|console)$/.test(target);
}

/**
 * Whether the Nx process running this one writes to a terminal. Nx runs the task it was asked for in a
 * pseudo-terminal but the tasks it depends on (every stage of `nx run <pipeline>:full`) through pipes,
 * and streams their output to its own stdout as it comes; so a stage under Nx sees a pipe even when the
 * user watches a terminal. Nx names its processes in NX_INVOCATION_ANCESTOR_PIDS (outermost first); the
 * last one is the one whose stdout our output reaches. Linux (/proc) only; elsewhere the answer is no.
 */
export function nxWritesToTerminal(env: NodeJS.ProcessEnv = process.env): boolean {
  const pids = (env.NX_INVOCATION_ANCESTOR_PIDS ?? '').split(',').filter((pid) => /^\d+$/.test(pid));
  const nx = pids.at(-1);
  if (nx === undefined) return false;
  try {
    return isTerminalDevice(readlinkSync(`/proc/${nx}/fd/1`));
  } catch {
    return false;
  }
}

/**
 * The mode for a stream: $SGDWALK_PROGRESS (bar, lines or off) when set; else a bar on a terminal, or
 * under an Nx that writes to one; else lines.
 */
export function progressMode(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): ProgressMode {
  const chosen = env.SGDWALK_PROGRESS?.trim().toLowerCase();
  if (chosen && (MODES as readonly string[]).includes(chosen)) return chosen as ProgressMode;
  return stream.isTTY || nxWritesToTerminal(env) ? 'bar' : 'lines';
}
