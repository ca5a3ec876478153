import { z } from 'zod';

/** `GET /v1/streams/:streamId` as the CLI reads it. */
export const StreamReply = z.object({
  streamId: z.string(),
  events: z.array(
    z.object({
      eventId: z.string(),
      type: z.string(),
      streamRevision: z.number(),
      globalPosition: z.string(),
      data: z.record(z.string(), z.unknown()),
      metadata: z.record(z.string(), z.unknown()),
      prevHash: z.string().nullable(),
      hash: z.string(),
      recordedAt: z.string(),
    }),
  ),
});
export type StreamReply = z.infer<typeof StreamReply>;
export type StreamEvent = StreamReply['events'][number];

export const ErrorReply = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});
