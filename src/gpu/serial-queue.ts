// Runs async tasks one at a time, in the order they were queued.
//
// GPU work that spans several awaits must not interleave with other work on the same state:
// a Program's readback buffers are mapped by one run at a time, a model's forward pass leaves
// its logits in the program's buffers until post-processing has read them, and a context's
// error scopes (GpuContext.checked) are one stack for the whole device, so overlapping checked
// sections would report each other's errors. Callers queue such work here instead.

export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;

  /** Runs `task` after every task queued before it has settled; settles as `task` does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(task).finally(() => this.pending--);
    // A failed task does not fail the ones after it.
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** No task is running or waiting. */
  get idle(): boolean {
    return this.pending === 0;
  }
}

const contextQueues = new WeakMap<object, SerialQueue>();

/**
 * The queue for a GPU context's multi-step work (a model's forward pass and the post-processing
 * that reads its buffers): every model on one context shares it, so their calls never
 * interleave on the device.
 */
export function contextQueue(ctx: object): SerialQueue {
  let q = contextQueues.get(ctx);
  if (!q) contextQueues.set(ctx, (q = new SerialQueue()));
  return q;
}
