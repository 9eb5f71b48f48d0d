// The pieces of the log that need no server: field redaction, the LOG_FORMAT setting and the
// pretty format. The access line itself, its redaction and its delivery are tested against a
// running server in test/e2e/log-redaction.test.ts and test/e2e/access-log.test.ts.
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConfigError } from './config/index.ts'
import { logFormat, loggerOptions, prettyLine } from './logging.ts'

describe('LOG_FORMAT', () => {
  it('is json or pretty, and anything else is refused with the setting named', () => {
    expect(logFormat('json')).toBe('json')
    expect(logFormat('pretty')).toBe('pretty')
    expect(() => logFormat('text')).toThrow(new ConfigError('LOG_FORMAT must be json or pretty, got "text"'))
    // …even when nothing is logged, so a typo is found before it matters
    expect(() => loggerOptions('silent', 'JSON')).toThrow(ConfigError)
    expect(loggerOptions('silent', 'pretty')).toBe(false)
  })
})

describe('the pretty format', () => {
  const time = Date.UTC(2026, 0, 2, 3, 4, 5, 67)

  it('writes an access line as method, route, status and duration, then its other fields', () => {
    const json = JSON.stringify({
      level: 30,
      time,
      pid: 7,
      hostname: 'h',
      reqId: 'req_abc',
      method: 'GET',
      route: '/api/v1/posts/:id',
      status: 200,
      durationMs: 3.14,
      workspaceId: 4,
      principal: 'api_key',
      keyId: 9,
      msg: 'request',
    })
    expect(prettyLine(json)).toBe(
      '03:04:05.067 INFO  GET /api/v1/posts/:id 200 3.14 ms reqId=req_abc workspaceId=4 principal=api_key keyId=9\n',
    )
  })

  it('writes the URL of an access line no route matched', () => {
    const json = JSON.stringify({
      level: 30,
      time,
      method: 'GET',
      url: '/x?key=[redacted]',
      status: 404,
      durationMs: 0.5,
      msg: 'request',
    })
    expect(prettyLine(json)).toBe('03:04:05.067 INFO  GET /x?key=[redacted] 404 0.5 ms\n')
  })

  it('writes other lines as their message and fields, quoting what is not a bare word, an error beneath', () => {
    const json = JSON.stringify({
      level: 50,
      time,
      reqId: 'req_x',
      data: 'a folder with spaces',
      count: 2,
      nested: { a: 1 },
      err: {
        type: 'DrizzleQueryError',
        code: '22P02',
        message: 'bad input',
        stack: '    at f (file.ts:1:2)',
      },
      msg: 'request failed',
    })
    expect(prettyLine(json)).toBe(
      '03:04:05.067 ERROR request failed reqId=req_x data="a folder with spaces" count=2 nested={"a":1}\n' +
        '  DrizzleQueryError [22P02]: bad input\n' +
        '    at f (file.ts:1:2)\n',
    )
  })

  it('passes through what is not a JSON line', () => {
    expect(prettyLine('not json\n')).toBe('not json\n')
  })
})

describe('the fields of a logged object', () => {
  function logged(object: Record<string, unknown>): Record<string, unknown> {
    const lines: string[] = []
    const options = loggerOptions('info', { write: (line) => void lines.push(line) })
    pino(options as pino.LoggerOptions, (options as { stream: pino.DestinationStream }).stream).info(
      object,
      'msg',
    )
    return JSON.parse(lines[0]!)
  }

  it('replaces secret fields at any depth and credential shapes in any string, without touching the original', () => {
    const object = {
      key: 'top-level',
      headers: { authorization: 'Bearer abc', cookie: 'session=1', 'x-request-id': 'r1' },
      body: { title: 'kept', password: 'pw', nested: { token: 't', client_secret: { any: 'shape' } } },
      note: 'sent sk_live_abcdefghijklmnop and whsec_abcdef',
      count: 3,
    }
    const before = structuredClone(object)
    expect(logged(object)).toMatchObject({
      key: '[redacted]',
      headers: { authorization: '[redacted]', cookie: '[redacted]', 'x-request-id': 'r1' },
      body: {
        title: 'kept',
        password: '[redacted]',
        nested: { token: '[redacted]', client_secret: '[redacted]' },
      },
      note: 'sent sk_live_[redacted] and whsec_[redacted]',
      count: 3,
    })
    expect(object).toEqual(before)
  })

  it('keeps a field named __proto__ a field', () => {
    const object = JSON.parse('{"__proto__": {"password": "pw"}, "a": 1}')
    const entry = logged(object)
    expect(Object.hasOwn(entry, '__proto__')).toBe(true)
    expect(JSON.stringify(entry)).not.toContain('"pw"')
  })
})
