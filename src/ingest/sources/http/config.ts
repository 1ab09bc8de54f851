import { z } from 'zod';
import { parseWith } from '../../../config/validate.js';

const paramValue = z.union([z.string(), z.number(), z.boolean()]);
const size = z.number().int().positive();

/**
 * How the API pages. Every style stops on an empty page; `page`/`offset` also stop
 * on a page shorter than `page_size`, `cursor` when the next cursor is missing,
 * `link` when there is no `rel="next"` link (or `next_url_path` value).
 */
const paginationSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z
    .object({
      type: z.literal('page'),
      /** Query parameter holding the page number. */
      page_param: z.string().min(1).default('page'),
      /** Number of the first page. */
      start_page: z.number().int().nonnegative().default(1),
      /** Query parameter holding the page size (sent only when page_size is set). */
      size_param: z.string().min(1).optional(),
      page_size: size.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('offset'),
      offset_param: z.string().min(1).default('offset'),
      /** Query parameter holding the page size. */
      size_param: z.string().min(1).default('limit'),
      page_size: size.default(100),
    })
    .strict(),
  z
    .object({
      type: z.literal('cursor'),
      /** Query parameter the next cursor is sent in. */
      cursor_param: z.string().min(1).default('cursor'),
      /** Dot path of the next cursor in the response body, e.g. `meta.next_cursor`. */
      cursor_path: z.string().min(1),
      size_param: z.string().min(1).optional(),
      page_size: size.optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('link'),
      /** Dot path of the next page's URL in the body; default: the `Link: <…>; rel="next"` header. */
      next_url_path: z.string().min(1).optional(),
      size_param: z.string().min(1).optional(),
      page_size: size.optional(),
    })
    .strict(),
]);

const streamSchema = z
  .object({
    /** Path under base_url (or an absolute URL). */
    path: z.string().min(1),
    /** Dot path of the record array in the response, e.g. `data.items`. Default: the body itself (an array, or one object). */
    records_path: z.string().min(1).optional(),
    /** Query parameters sent with every request of this stream. */
    params: z.record(z.string(), paramValue).default({}),
    pagination: paginationSchema.default({ type: 'none' }),
    incremental: z
      .object({
        /** Query parameter the stored cursor is sent in (e.g. `updated_since`). */
        param: z.string().min(1),
        /** Field (dot path) of each record whose maximum becomes the stored cursor. */
        cursor_field: z.string().min(1),
        /** Value sent on the first run. */
        initial: z.union([z.string(), z.number()]).optional(),
      })
      .strict()
      .optional(),
    primary_key: z.array(z.string()).optional(),
  })
  .strict();

export const httpConfigSchema = z
  .object({
    type: z.literal('http'),
    base_url: z.string().url(),
    /** Sent with every request. Use env('API_TOKEN') for secrets: they are never shown. */
    headers: z.record(z.string(), z.string()).default({}),
    streams: z.record(z.string().regex(/^[a-z_][a-z0-9_]*$/, 'stream names are lower-case letters, digits and _'), streamSchema),
    /** Retries after a 408/429/5xx response or a network error / timeout. */
    retries: z.number().int().nonnegative().default(5),
    /** First backoff; doubles on each retry (with jitter), capped at max_backoff_ms. Retry-After wins when sent. */
    backoff_ms: z.number().int().nonnegative().default(1000),
    max_backoff_ms: z.number().int().nonnegative().default(30_000),
    /** Requests per second, across the source's streams. */
    rate_limit: z.number().positive().optional(),
    /** Per request, until the body is read. */
    timeout_ms: z.number().int().positive().default(30_000),
  })
  .strict();

export type HttpConfig = z.infer<typeof httpConfigSchema>;
export type HttpStreamConfig = z.infer<typeof streamSchema>;
export type HttpPagination = z.infer<typeof paginationSchema>;

export const parseHttpConfig = (raw: unknown): HttpConfig => parseWith(httpConfigSchema, raw, '');
