import { MetainfoError } from './errors.js';

/*
 * Path safety. A torrent names its files with a list of path components
 * (BEP 3 `path`, plus the top-level `name`). Whatever a torrent says, the
 * files it names must land inside the download folder, so each component is
 * checked here, once, at parse time, and everything downstream (storage,
 * the CLI) can join components without further thought.
 *
 * Rejected (the torrent is refused): empty components, `.` and `..`, NUL,
 * absolute paths (a component that starts with `/` or `\`, or with a drive
 * such as `C:`), components longer than 255 bytes, an empty path.
 * Made safe: `/` and `\` elsewhere inside a component become `_` (`AC/DC`
 * becomes `AC_DC`), so a component can never be split into several by the
 * filesystem.
 */

const MAX_COMPONENT_BYTES = 255;
const encoder = new TextEncoder();

/** Check one component and return its safe form, or throw `unsafe-path`. */
export function safeComponent(component: string, field: string): string {
  if (component.length === 0) throw new MetainfoError('unsafe-path', 'empty path component', { field });
  if (component === '.' || component === '..') {
    throw new MetainfoError('unsafe-path', `path component ${JSON.stringify(component)} is not allowed`, { field });
  }
  if (component.includes('\0')) throw new MetainfoError('unsafe-path', 'path component contains NUL', { field });
  if (/^([/\\]|[A-Za-z]:)/.test(component)) {
    throw new MetainfoError('unsafe-path', `absolute path ${JSON.stringify(component)} is not allowed`, { field });
  }
  if (encoder.encode(component).length > MAX_COMPONENT_BYTES) {
    throw new MetainfoError('unsafe-path', `path component longer than ${MAX_COMPONENT_BYTES} bytes`, { field });
  }
  return component.replace(/[/\\]/g, '_');
}

/** Check a whole relative path. */
export function safePath(components: readonly string[], field: string): string[] {
  if (components.length === 0) throw new MetainfoError('unsafe-path', 'empty path', { field });
  return components.map((c, i) => safeComponent(c, `${field}[${i}]`));
}
