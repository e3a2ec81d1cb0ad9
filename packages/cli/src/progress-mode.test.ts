import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isTerminalDevice, nxWritesToTerminal, progressMode } from './progress-mode.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

describe('progress mode', () => {
  it('terminal devices', () => {
    expect(isTerminalDevice('/dev/pts/3')).toBe(true);
    expect(isTerminalDevice('/dev/tty1')).toBe(true);
    expect(isTerminalDevice('pipe:[123456]')).toBe(false);
    expect(isTerminalDevice('/dev/null')).toBe(false);
    expect(isTerminalDevice('/tmp/log.txt')).toBe(false);
  });

  it('SGDWALK_PROGRESS wins; else a bar on a terminal; else plain lines', () => {
    expect(progressMode({ isTTY: true }, {})).toBe('bar');
    expect(progressMode({ isTTY: false }, {})).toBe('lines');
    expect(progressMode({ isTTY: true }, { SGDWALK_PROGRESS: 'lines' })).toBe('lines');
    expect(progressMode({ isTTY: false }, { SGDWALK_PROGRESS: 'Bar' })).toBe('bar');
    expect(progressMode({ isTTY: true }, { SGDWALK_PROGRESS: 'off' })).toBe('off');
    expect(progressMode({ isTTY: false }, { SGDWALK_PROGRESS: 'sometimes' })).toBe('lines');
  });

  it('under Nx: whether the Nx process (the last of NX_INVOCATION_ANCESTOR_PIDS) writes to a terminal', () => {
    // This test process writes to a pipe or a file, never to a terminal of its own under vitest's forks.
    expect(nxWritesToTerminal({ NX_INVOCATION_ANCESTOR_PIDS: String(process.pid) })).toBe(false);
    expect(nxWritesToTerminal({})).toBe(false);
    expect(nxWritesToTerminal({ NX_INVOCATION_ANCESTOR_PIDS: '999999999' })).toBe(false);
  });

  it.skipIf(!hasScript)('a process writing to a pseudo-terminal, as Nx in a terminal does, makes its tasks draw a bar', async () => {
    // `script` runs a shell on a fresh pseudo-terminal; the shell prints its pid and becomes `sleep`,
    // which keeps that pid and the terminal as its stdout (as the Nx process does while its tasks run).
    const holder = spawn('script', ['-qec', 'echo pid=$$; exec sleep 30', '/dev/null'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const pid = await new Promise<string>((resolve, reject) => {
        let text = '';
        holder.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          const found = /pid=(\d+)/.exec(text);
          if (found) resolve(found[1]);
        });
        holder.on('exit', () => reject(new Error(`script exited: ${text}`)));
      });
      expect(nxWritesToTerminal({ NX_INVOCATION_ANCESTOR_PIDS: `${process.pid},${pid}` })).toBe(true);
      expect(progressMode({ isTTY: false }, { NX_INVOCATION_ANCESTOR_PIDS: pid })).toBe('bar');
      expect(progressMode({ isTTY: false }, { NX_INVOCATION_ANCESTOR_PIDS: pid, SGDWALK_PROGRESS: 'lines' })).toBe('lines');
    } finally {
      holder.kill();
    }
  });
});
