import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * `util.parseArgs` with a `-h/--help` option added, and its errors turned
 * into one-line UsageErrors. Returns undefined after printing `usage` when
 * help was asked for: `--help` counts only where it is an option, so
 * `peerkit info -- --help` still means a file named `--help`.
 */
export function parseCommandLine<T extends Options>(args: readonly string[], options: T, usage: string) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    const message = e instanceof Error ? e.message.split('\n')[0]!.replace(/\. To specify a positional argument.*$/, '') : String(e);
    throw new UsageError(message);
  }
  if ((parsed.values as { help?: boolean }).help === true) {
    process.stdout.write(`${usage}\n`);
    return undefined;
  }
  return parsed;
}
