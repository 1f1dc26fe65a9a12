import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVER_PACKAGE = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRY = fileURLToPath(new URL('./server-main.ts', import.meta.url));

/** A server process that the test can SIGKILL: no shutdown hook, no flushing, like a crash or an OOM kill. */
export class ServerProcess {
  readonly #child: ChildProcess;
  readonly url: Promise<string>;

  constructor(env: Record<string, string>) {
    this.#child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      cwd: SERVER_PACKAGE,
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    this.#child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-2000);
    });
    this.url = new Promise((resolve, reject) => {
      this.#child.once('exit', (code, signal) =>
        reject(new Error(`server process exited (${code ?? signal}) before it listened: ${stderr}`)),
      );
      createInterface({ input: this.#child.stdout! }).on('line', (line) => {
        const ready = /^READY (\S+)/.exec(line);
        if (ready?.[1]) resolve(ready[1]);
      });
    });
  }

  get alive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill(signal);
    await exited;
  }
}
