import { StorageError, type StorageErrorCode } from './types.js';

/*
 * Node reports file-system failures as errno strings; the engine only needs
 * to know what to do about them: a full disk pauses the download, a
 * permission problem needs the user, anything else is an I/O error.
 */

const CODES: Readonly<Record<string, StorageErrorCode>> = {
  ENOSPC: 'disk-full',
  EDQUOT: 'disk-full',
  EACCES: 'access',
  EPERM: 'access',
  EROFS: 'access',
  // Opening with O_NOFOLLOW fails with ELOOP when the last component is a symlink.
  ELOOP: 'unsafe-path',
};

/** A StorageError for a failed file-system call `op` on `path`. */
export function fsError(e: unknown, op: string, path: string): StorageError {
  if (e instanceof StorageError) return e;
  const err = e as NodeJS.ErrnoException;
  const errno = typeof err.code === 'string' ? err.code : undefined;
  const code = (errno !== undefined ? CODES[errno] : undefined) ?? 'io';
  const why = code === 'unsafe-path' ? 'is a symbolic link (refused)' : (errno ?? (e instanceof Error ? e.message : String(e)));
  const out = new StorageError(code, `cannot ${op} ${path}: ${why}`, path);
  out.cause = e;
  return out;
}
