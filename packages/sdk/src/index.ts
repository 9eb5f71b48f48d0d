// @core-api/sdk: a typed client for core-api, webhook verification, and the error classes.
export {
  type Client,
  type ClientOptions,
  CoreApiClient,
  createClient,
  type RawRequest,
  type RequestContext,
  type RequestOptions,
  type ResponseContext,
} from './client.ts'
export {
  AuthenticationError,
  BadRequestError,
  ConflictError,
  ConnectionError,
  CoreApiError,
  type ErrorBody,
  FeatureLimitError,
  IdempotencyError,
  NotFoundError,
  PermissionError,
  RateLimitError,
  ServerError,
  TimeoutError,
  ValidationError,
} from './errors.ts'
export type { Page, PagePromise } from './pagination.ts'
export type { components, operations, paths } from './schema.js'
export {
  type VerifyOptions,
  verifyWebhook,
  type WebhookEvent,
  type WebhookEventData,
  type WebhookHeaders,
  WebhookVerificationError,
} from './webhooks.ts'
