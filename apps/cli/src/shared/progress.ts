import { SingleBar } from 'cli-progress';

/** How far a long job is: `done` of `total` (total unknown: a running count). */
export interface Progress {
  update(done: number, total?: number): void;
  /** Writes a line of output without tearing the bar: the bar is cleared, `write` runs, the bar is drawn again. */
  around(write: () => void): void;
  stop(): void;
}

const quiet: Progress = { update: () => undefined, around: (write) => write(), stop: () => undefined };

/**
 * A progress bar on stderr while stderr is a terminal, redrawn at most 10 times a second and cleared when done; nothing
 * at all when stderr is piped or redirected, or with LEDGER_NO_PROGRESS set (scripts, CI logs, `--json`).
 */
export function progressBar(label: string, unit: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || process.env.LEDGER_NO_PROGRESS) return quiet;
  let bar: SingleBar | undefined;
  let last: { done: number; total: number | undefined } = { done: 0, total: undefined };
  return {
    update(done, total) {
      last = { done, total: total ?? last.total };
      if (!bar) {
        bar = new SingleBar({
          stream,
          format:
            total === undefined
              ? `${label} {value} ${unit}`
              : `${label} [{bar}] {percentage}% {value}/{total} ${unit}, eta {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
          fps: 10,
          etaBuffer: 100,
        });
        bar.start(total ?? 0, done);
        return;
      }
      if (total !== undefined) bar.setTotal(total);
      bar.update(done);
    },
    around(write) {
      if (!bar) return write();
      bar.stop();
      bar = undefined;
      write();
      this.update(last.done, last.total);
    },
    stop() {
      bar?.stop();
      bar = undefined;
    },
  };
}
