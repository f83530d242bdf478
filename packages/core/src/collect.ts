/**
 * Every item of an AsyncIterable or Iterable, in order, as an array (like `Array.fromAsync`, which
 * Node 20 lacks). Memory grows with the stream: use it for results you mean to hold.
 */
export async function collect<T>(items: AsyncIterable<T> | Iterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
