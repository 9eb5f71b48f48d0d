// The types of the methods the client builds from the operation table: each method's path
// parameters, body or query, and result are those of its operation in the generated schema.

import type { RequestOptions } from './client.ts'
import type { Operation, operations as OperationTable } from './operations.ts'
import type { Page, PagePromise } from './pagination.ts'
import type { operations as Schema } from './schema.js'

type Table = typeof OperationTable

type OperationOf<Id> = Id extends keyof Schema ? Schema[Id] : never
type Json<R> = R extends { content: { 'application/json': infer B } } ? B : undefined

/** The body of the operation's success response (undefined for a 204). */
type SuccessBody<O> = O extends { responses: infer R }
  ? Json<R[Extract<keyof R, 200 | 201 | 202 | 204>]>
  : never

type PathParams<O> = O extends { parameters: { path: infer P } } ? P : Record<string, never>
type PathArgs<O, Names extends readonly string[]> = {
  -readonly [K in keyof Names]: Names[K] extends keyof PathParams<O> ? PathParams<O>[Names[K]] : never
}

type Optional<T, K extends PropertyKey> = K extends keyof T
  ? Partial<Pick<T, K>> extends Pick<T, K>
    ? true
    : false
  : true
type BodyOf<O> = O extends { requestBody?: infer B } ? Json<NonNullable<B>> : never
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never

type InputArgs<O, Input> = Input extends 'body'
  ? Optional<O, 'requestBody'> extends true
    ? [body?: BodyOf<O>, options?: RequestOptions]
    : [body: BodyOf<O>, options?: RequestOptions]
  : Input extends 'query'
    ? O extends { parameters: infer P }
      ? Optional<P, 'query'> extends true
        ? [query?: QueryOf<O>, options?: RequestOptions]
        : [query: QueryOf<O>, options?: RequestOptions]
      : [options?: RequestOptions]
    : [options?: RequestOptions]

type ItemOf<B> = B extends { data: Array<infer Item> } ? Item : never

type Result<O, List> = List extends true
  ? SuccessBody<O> extends infer P extends Page<ItemOf<SuccessBody<O>>>
    ? PagePromise<ItemOf<P>, P>
    : never
  : Promise<SuccessBody<O>>

type Method<E extends Operation> = (
  ...args: [
    ...Extract<PathArgs<OperationOf<E['id']>, E['params']>, unknown[]>,
    ...InputArgs<OperationOf<E['id']>, E['input']>,
  ]
) => Result<OperationOf<E['id']>, E['list']>

/** `client.<resource>.<method>(...pathParams, bodyOrQuery?, options?)` for every operation. */
export type Resources = {
  readonly [R in keyof Table]: {
    readonly [M in keyof Table[R]]: Table[R][M] extends Operation ? Method<Table[R][M]> : never
  }
}
