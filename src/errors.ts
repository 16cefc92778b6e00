import createError from '@fastify/error'

/** One field-level problem, as reported in a problem document's `errors[]`. */
export interface FieldError { path: string, message: string }

/**
 * Typed errors the services throw. Each has a stable `code` and an HTTP status;
 * the problem-details plugin turns them into application/problem+json.
 */
export const NotFound = createError<[string, string]>('CMS_NOT_FOUND', '%s %s was not found', 404)
export const Conflict = createError<[string]>('CMS_CONFLICT', '%s', 409)
export const BadRequest = createError<[string]>('CMS_BAD_REQUEST', '%s', 400)

/** A 400 naming the fields at fault in `errors[]`, for the rules a schema cannot state. */
export const invalid = (message: string, errors: FieldError[]) => Object.assign(new BadRequest(message), { errors })

/** A request that is well-formed JSON but refers to things that do not exist or break a rule. */
export class Unprocessable extends Error {
  readonly code = 'CMS_UNPROCESSABLE'
  readonly statusCode = 422
  constructor (message: string, readonly errors: FieldError[]) {
    super(message)
  }
}

export const UnsupportedMediaType = createError<[string]>('CMS_UNSUPPORTED_MEDIA_TYPE', '%s', 415)
export const PayloadTooLarge = createError<[string]>('CMS_PAYLOAD_TOO_LARGE', '%s', 413)
export const Unauthorized = createError<[string]>('CMS_UNAUTHORIZED', '%s', 401)
export const Forbidden = createError<[string]>('CMS_FORBIDDEN', '%s', 403)
export const RangeNotSatisfiable = createError<[string]>('CMS_RANGE_NOT_SATISFIABLE', '%s', 416)
export const TooManyRequests = createError<[string]>('CMS_TOO_MANY_REQUESTS', '%s', 429)
/** Busy right now, not broken: said to the client with Retry-After, not logged as a failure. */
export const ServiceUnavailable = createError<[string]>('CMS_BUSY', '%s', 503)
/** A service the API stands on (photo storage in S3) failed to answer: said with Retry-After, logged as an error. */
export const DependencyUnavailable = createError<[string]>('CMS_UNAVAILABLE', '%s', 503)
/** The client went away before its answer was ready (nginx's 499): nobody reads it, the log says so. */
export const ClientClosed = createError<[string]>('CMS_CLIENT_CLOSED', '%s', 499)
export const PreconditionFailed = createError<[string]>('CMS_PRECONDITION_FAILED', '%s', 412)
