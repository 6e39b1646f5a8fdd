import type { MachineProcess } from './machine-process.ts';

/** SIGTERM to every process, SIGKILL to any still alive after `graceMs`; resolves once all exited. */
export async function shutDownProcesses(children: MachineProcess[], graceMs: number): Promise<void> {
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(
    children.map(async (child) => {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, graceMs);
      });
      await Promise.race([child.exited, grace]);
      clearTimeout(timer);
      if (child.isAlive()) child.kill('SIGKILL');
      await child.exited;
      // Anything the machine's process started shares its group.
      child.kill('SIGKILL');
    }),
  );
}
