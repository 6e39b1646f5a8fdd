// The IPC both bench app processes (bench/bot-child.ts, bench/bare-bolt-child.ts) answer, so the
// scenarios drive them alike: parent → {cmd:'stats'|'gc'|'stop'}; child → ready, stats, gc, stopped.

/** What every app process reports about itself: memory, CPU time. */
export function processFigures() {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  return {
    rssMb: mem.rss / 2 ** 20,
    heapUsedMb: mem.heapUsed / 2 ** 20,
    externalMb: mem.external / 2 ** 20,
    heapTotalMb: mem.heapTotal / 2 ** 20,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    /** CPU time (user + system) used so far, ms. */
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

/** Answers the parent's commands, then says ready. `stop` closes what the child runs, then exits. */
export function serveChildIpc(o: {
  url: string;
  signingSecret: string;
  stats: () => Record<string, unknown>;
  stop: () => Promise<void>;
}): void {
  const stats = () => ({ kind: 'stats', ...o.stats() });
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'stats') process.send?.(stats());
    if (m.cmd === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ ...stats(), kind: 'gc' });
    }
    if (m.cmd === 'stop') {
      void (async () => {
        await o.stop().catch(() => {});
        process.send?.({ ...stats(), kind: 'stopped' });
        process.disconnect?.();
        process.exit(0);
      })();
    }
  });
  process.send?.({ kind: 'ready', url: o.url, signingSecret: o.signingSecret });
}
