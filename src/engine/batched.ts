/**
 * Sources that read in chunks anyway (protocol messages on stdin: a chunk of input is a few hundred lines)
 * can hand their messages to the engine an array at a time. The pipeline then pays one await per array
 * instead of one per message — per message, an async generator's yield and the consumer's await cost
 * about as much as the rest of the engine's work for a record.
 *
 * Such a source's `read` returns `batchedMessages(…)`: still an ordinary AsyncIterable of messages for
 * any other consumer, plus `batches()`, which the pipeline looks for.
 */
import type { SourceMessage } from '../sdk/source.ts';

export interface BatchedMessages extends AsyncIterable<SourceMessage> {
  batches(): AsyncIterator<readonly SourceMessage[]>;
}

/** `open` is called once per iteration, so each consumer reads from the start (of what is left). */
export function batchedMessages(open: () => AsyncIterable<readonly SourceMessage[]>): BatchedMessages {
  return {
    batches: () => open()[Symbol.asyncIterator](),
    async *[Symbol.asyncIterator]() {
      for await (const batch of open()) yield* batch;
    },
  };
}

/** The source's message arrays, when it offers them. */
export function batchesOf(messages: AsyncIterable<SourceMessage>): AsyncIterator<readonly SourceMessage[]> | undefined {
  const batched = messages as Partial<BatchedMessages>;
  return typeof batched.batches === 'function' ? batched.batches() : undefined;
}
