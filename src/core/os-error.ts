/**
 * OS errors a person can act on, turned into one line that names the path and says what to do.
 * Node's own messages ("ENOSPC: no space left on device, write") name neither.
 */
import { UserError } from './tool.js';

/** What each code means for whoever is writing, and what they can do about it. */
const ADVICE: Record<string, string> = {
  ENOSPC: 'the disk is full (ENOSPC); free some space or write somewhere else',
  EDQUOT: 'the disk quota is used up (EDQUOT); free some space or write somewhere else',
  EACCES: 'permission denied (EACCES); choose a directory you can write to, or fix its permissions',
  EPERM: 'operation not permitted (EPERM); choose a directory you can write to, or fix its permissions',
  EROFS: 'the file system is read-only (EROFS); choose a writable directory',
};

/**
 * `err` as a UserError naming `file` when it is one of the codes above; anything else (our own
 * UserErrors included) is returned unchanged, for the caller to throw.
 */
export function osError(err: unknown, file: string): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (err instanceof UserError || !code || !(code in ADVICE)) return err;
  return new UserError(`cannot write ${file}: ${ADVICE[code]}`);
}

/**
 * The last resort for an OS error no writer wrapped: Node's fs errors carry the path they were
 * about (`err.path`), so a full disk in any mkdir or copy still reads as one line naming it.
 */
export function osErrorWithPath(err: unknown): unknown {
  const p = (err as NodeJS.ErrnoException | undefined)?.path;
  return typeof p === 'string' ? osError(err, p) : err;
}
