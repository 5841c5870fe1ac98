/**
 * A bounded cache for the header values the engine builds again and again for the same files
 * (dispositions, dates, types): a map lookup instead of the formatting work on each request.
 * Keys come from requests, so the cache holds at most `max` entries of keys up to `maxKeyLength`
 * characters, and starts over when full; a longer key is computed every time.
 */
export function memoize<V>(compute: (key: string) => V, max = 512, maxKeyLength = 512): (key: string) => V {
  const values = new Map<string, V>();
  return (key) => {
    const known = values.get(key);
    if (known !== undefined) return known;
    const value = compute(key);
    if (key.length <= maxKeyLength) {
      if (values.size >= max) values.clear();
      values.set(key, value);
    }
    return value;
  };
}
