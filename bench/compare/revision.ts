/**
 * Another revision of this repository, checked out beside it for a same-run comparison (`pnpm bench --compare
 * <git ref>`): a detached git worktree in a temporary folder with its dependencies installed from the local pnpm
 * store. Nothing of it is committed or kept; `remove()` deletes the worktree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Revision {
  ref: string;
  /** The abbreviated commit the ref named. */
  commit: string;
  dir: string;
  remove(): void;
}

const PNPM = ['--yes', 'pnpm@10.20.0'];

export function checkoutRevision(ref: string, log: (message: string) => void): Revision {
  const root = execFileSync('git', ['rev-parse', '--show-toplevel'], { encoding: 'utf8' }).trim();
  const commit = execFileSync('git', ['-C', root, 'rev-parse', '--short', `${ref}^{commit}`], {
    encoding: 'utf8',
  }).trim();
  const dir = join(mkdtempSync(join(tmpdir(), 'mp-pay-bench-rev-')), 'repo');
  log(`compare: checking out ${ref} (${commit}) into ${dir}…`);
  execFileSync('git', ['-C', root, 'worktree', 'add', '--detach', dir, commit], { stdio: 'ignore' });
  const remove = () => {
    try {
      execFileSync('git', ['-C', root, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' });
    } catch {
      // Already gone; `git worktree prune` tidies the bookkeeping.
    }
    // The temporary folder the worktree was made in.
    rmSync(dirname(dir), { recursive: true, force: true });
  };
  try {
    // --offline: the same lockfile's packages are in the local store; no network is needed or wanted here.
    execFileSync('npx', [...PNPM, 'install', '--frozen-lockfile', '--offline', '--ignore-scripts'], {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, CI: 'true' },
    });
    if (!existsSync(join(dir, 'bench/load/ours-server.ts'))) {
      throw new Error(`${ref} has no bench/load/ours-server.ts to start its server with`);
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { ref, commit, dir, remove };
}
