/**
 * The system under test in its own process: the real mp-pay server (startServer), configured by the
 * environment bench/run.ts passes. Prints `READY <url>`.
 *
 * With BENCH_PROFILE_FILE set, the V8 profiler is armed: SIGUSR2 starts it (after the warm-up, so start-up and
 * JIT compilation stay out of the picture) and SIGTERM writes the profile there before shutting down.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { startServer } from '@mp-pay/server';

const profileFile = process.env.BENCH_PROFILE_FILE;
const profiler = profileFile ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  process.on('SIGUSR2', () => void profiler.post('Profiler.start'));
}

const server = await startServer({ env: process.env, port: 0 });
console.log(`READY ${server.url}`);
process.on('SIGTERM', () => {
  void (async () => {
    if (profiler && profileFile) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
    }
    await server.close();
    process.exit(0);
  })();
});
