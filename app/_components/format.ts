/** Formatting shared by server and client components (no Node imports: it ships to the browser). */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const oneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

/** `512 B`, `97.7 KiB`, `2 MiB`: binary units, at most one decimal. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : oneDecimal.format(value)} ${UNITS[unit]}`;
}

/** `2026-11-22 14:03 UTC`: the same on the server and in every browser. */
export function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** A URL path for a `/`-separated storage name: each segment percent-encoded, separators kept. */
export function hrefFor(prefix: string, name: string): string {
  return `${prefix}${name.split('/').map(encodeURIComponent).join('/')}`;
}
