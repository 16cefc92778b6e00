import { randomUUID } from 'node:crypto'
import { PassThrough, Readable } from 'node:stream'
import type { DeleteObjectsCommandOutput, GetObjectCommandOutput, HeadObjectCommandOutput, ListObjectsV2CommandOutput, S3Client, S3ClientConfig } from '@aws-sdk/client-s3'
import { ConfigError } from '../config.js'
import { DependencyUnavailable } from '../errors.js'
import { assertKey, assertPrefix, type Storage } from './index.js'

export interface S3StorageOptions {
  bucket: string
  /** Prepended to every key ("cms/photos/"): one bucket can hold several newsrooms' photos, or other things. */
  prefix: string
  /** An S3-compatible service's address (MinIO, Ceph, R2, …); AWS's own when unset. */
  endpoint?: string
  region: string
  /** Bucket in the path (`https://host/bucket/key`) rather than in the host name: what most S3-compatible services need. */
  forcePathStyle: boolean
  /** Keys listed (and deleted) per request when a prefix is cleared: S3's own limit, lowered only by tests. */
  pageSize?: number
  /** How long an answer may take to begin, or stall while it comes (20 s; lowered by tests). */
  timeoutMs?: number
  /** Anything else the SDK takes (tests give credentials here; otherwise its default chain finds them). */
  client?: Partial<S3ClientConfig>
}

const TYPES: Record<string, string> = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', avif: 'image/avif' }

/**
 * Photos in an S3-compatible bucket: one object per key, under `prefix`. Credentials come from the AWS SDK's own
 * chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile, the role of the machine or task). The SDK is
 * loaded only when this storage is configured: the server's start does not pay for it otherwise.
 */
export async function s3Storage (options: S3StorageOptions): Promise<Storage> {
  const sdk = await import('@aws-sdk/client-s3')
  const { bucket, prefix, pageSize = 1000 } = options
  const client: S3Client = new sdk.S3Client({
    region: options.region,
    endpoint: options.endpoint,
    forcePathStyle: options.forcePathStyle,
    // a service that stops answering fails the request that waits on it (a 503), rather than holding it forever: 5 s
    // to connect, 20 s for the answer to begin, 20 s of silence while it comes; each of the SDK's three attempts
    // (without throwOnRequestTimeout the SDK only warns when its request timeout passes, and waits on)
    requestHandler: { connectionTimeout: 5_000, requestTimeout: options.timeoutMs ?? 20_000, socketTimeout: options.timeoutMs ?? 20_000, throwOnRequestTimeout: true },
    ...options.client
  })
  // a missing object: NoSuchKey, or a HEAD's bodiless 404 (which a missing bucket also gives: see bucketThere)
  const missing = (err: unknown) => ['NoSuchKey', 'NotFound'].includes((err as Error).name)
  /**
   * One request to S3 (the SDK retries those that may succeed on a second try). A missing object is the caller's to
   * read; any other failure (S3 unreachable, access denied, a missing bucket) is a 503 to the client, the cause logged.
   */
  const s3 = {
    async send<T = unknown> (command: object, opts?: { abortSignal?: AbortSignal }): Promise<T> {
      try {
        return await client.send(command as never, opts) as T
      } catch (err) {
        // a 404 is an answer about the object for a read or a copy; for a write or a listing, the bucket is not there
        const read = command instanceof sdk.HeadObjectCommand || command instanceof sdk.GetObjectCommand || command instanceof sdk.CopyObjectCommand
        if ((read && missing(err)) || (err as Error).name === 'AbortError') throw err
        throw Object.assign(new DependencyUnavailable('Photo storage did not answer as it should; retry in a moment'), { cause: err, headers: { 'retry-after': '5' } })
      }
    }
  }
  await bucketThere(sdk, client, options)
  const objectOf = (key: string) => { assertKey(key); return prefix + key }
  /** Copies one object to another key, server-side (no byte passes through this process). */
  const copy = (from: string, to: string) => s3.send(new sdk.CopyObjectCommand({ Bucket: bucket, Key: to, CopySource: `${bucket}/${encodeURIComponent(from).replace(/%2F/g, '/')}` }))
  const remove = (object: string) => s3.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: object }))

  return {
    async put (key, data) {
      // one PUT: S3 shows an object whole or not at all; the SDK sends a checksum S3 verifies before storing it
      await s3.send(new sdk.PutObjectCommand({
        Bucket: bucket,
        Key: objectOf(key),
        Body: data,
        ContentLength: data.length,
        ContentType: TYPES[key.slice(key.lastIndexOf('.') + 1)] ?? 'application/octet-stream'
      }))
    },
    async get (key) {
      const object = objectOf(key)
      let size: number
      try {
        size = (await s3.send<HeadObjectCommandOutput>(new sdk.HeadObjectCommand({ Bucket: bucket, Key: object }))).ContentLength ?? 0
      } catch (err) {
        if (missing(err)) return undefined
        throw err
      }
      return {
        size,
        // the bytes are asked for once the answer is sure to send them (not for a 304 or a 416), and only the range's
        read (range) {
          const out = new PassThrough()
          s3.send<GetObjectCommandOutput>(new sdk.GetObjectCommand({ Bucket: bucket, Key: object, Range: range ? `bytes=${range.start}-${range.end}` : undefined }), { abortSignal: abortedWith(out) })
            .then((res) => {
              const body = res.Body as Readable
              body.on('error', (err) => out.destroy(err))
              body.pipe(out)
            }, (err: unknown) => out.destroy(err as Error))
          return out
        },
        discard: () => {}
      }
    },
    async exists (key) {
      try {
        await s3.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: objectOf(key) }))
        return true
      } catch (err) {
        if (missing(err)) return false
        throw err
      }
    },
    async delete (key) {
      // deleting a missing object is no error in S3
      await remove(objectOf(key))
    },
    async withdraw (key) {
      // no rename in S3: copied aside, then deleted; put back by a copy the other way
      const object = objectOf(key)
      const aside = `${prefix}.withdrawn/${randomUUID()}`
      try {
        await copy(object, aside)
      } catch (err) {
        if (missing(err)) return undefined
        throw err
      }
      await remove(object)
      return {
        where: `s3://${bucket}/${aside}`,
        restore: async () => { await copy(aside, object); await remove(aside) },
        discard: async () => { await remove(aside) }
      }
    },
    async deletePrefix (keyPrefix) {
      assertPrefix(keyPrefix)
      // listed a page at a time, each page deleted in one request; the listing resumes after the keys just deleted
      for (let token: string | undefined; ;) {
        const page = await s3.send<ListObjectsV2CommandOutput>(new sdk.ListObjectsV2Command({ Bucket: bucket, Prefix: prefix + keyPrefix, MaxKeys: pageSize, ContinuationToken: token }))
        const objects = (page.Contents ?? []).flatMap((o) => o.Key ? [{ Key: o.Key }] : [])
        if (objects.length > 0) {
          const res = await s3.send<DeleteObjectsCommandOutput>(new sdk.DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects, Quiet: true } }))
          if (res.Errors?.length) throw new Error(`S3 did not delete ${res.Errors.length} objects under ${prefix + keyPrefix}: ${res.Errors[0]!.Code} ${res.Errors[0]!.Message}`)
        }
        if (!page.IsTruncated) return
        token = page.NextContinuationToken
      }
    },
    async check () {
      // a write, as the filesystem's check is: reading the bucket proves nothing about uploads. One small object,
      // written over at each check
      await s3.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: `${prefix}.ready`, Body: '', ContentLength: 0 }))
    }
  }
}

/**
 * The bucket is looked for once, at start: a bucket that is not there (a typo in S3_BUCKET) or that the credentials
 * may not use stops the start with one line saying so. A read's HEAD cannot tell a missing bucket from a missing
 * object (both a bodiless 404): every photo would have been a 404. S3 not answering does not stop it: /readyz says
 * so, and the service recovers when S3 does.
 */
async function bucketThere (sdk: typeof import('@aws-sdk/client-s3'), client: S3Client, options: S3StorageOptions) {
  const where = `${options.bucket} at ${options.endpoint ?? 'AWS S3'}`
  try {
    // not waited on for longer than a few seconds: a start is not held up by S3 being away
    await client.send(new sdk.HeadBucketCommand({ Bucket: options.bucket }), { abortSignal: AbortSignal.timeout(5_000) })
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
    if (status === 404) throw new ConfigError(`Invalid configuration: S3_BUCKET: the bucket ${where} does not exist`)
    if (status === 403 || status === 401) throw new ConfigError(`Invalid configuration: S3_BUCKET: the bucket ${where} refuses these credentials (${status}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or the role`)
    if (status === 301 || status === 400) throw new ConfigError(`Invalid configuration: S3_BUCKET: the bucket ${where} answered ${status}: check S3_REGION and S3_ENDPOINT`)
  }
}

/** An AbortSignal that fires when the stream is destroyed before its end (the reader went away): S3's answer is given up. */
function abortedWith (stream: PassThrough): AbortSignal {
  const controller = new AbortController()
  stream.once('close', () => { if (!stream.readableEnded) controller.abort() })
  return controller.signal
}
