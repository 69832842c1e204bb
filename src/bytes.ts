/**
 * A copy of a byte range. Node's Buffer overrides slice() to return a view, and the bytes a reader hands
 * out live in reused or pooled memory: whatever outlives a frame's callback must be copied with this.
 */
export function copyBytes(b: Uint8Array, start = 0, end = b.length): Uint8Array {
  return Uint8Array.prototype.slice.call(b, start, end);
}
