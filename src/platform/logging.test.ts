// The pieces of the log that need no server of ours: field redaction, the LOG_FORMAT setting,
// the pretty format, and the access line's own template against what pino writes. The access
// line's redaction and delivery are tested against a running server in
// test/e2e/log-redaction.test.ts and test/e2e/access-log.test.ts.
import Fastify from 'fastify'
import pino from 'pino'
import { describe, expect, it } from 'vitest'
import { ConfigError } from './config/index.ts'
import { AccessLog, logFormat, loggerOptions, prettyLine } from './logging.ts'

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

describe('the access line', () => {
  /** A line as pino writes it with our options, for the request id `reqId`. */
  function pinoLine(reqId: string, fields: Record<string, unknown>): string {
    const lines: string[] = []
    const options = loggerOptions('info', { write: (line) => void lines.push(line) })
    pino(options as pino.LoggerOptions, (options as { stream: pino.DestinationStream }).stream)
      .child({ reqId })
      .info(fields, 'request')
    return lines[0]!
  }

  it('is, key for key, the line pino writes for the same fields, a stray URL redacted', async () => {
    const lines: string[] = []
    const app = Fastify({
      logger: loggerOptions('info', { write: (line) => void lines.push(line) }),
      logController: new AccessLog(),
      genReqId: () => 'req_"quoted"',
    })
    app.addHook('onRequest', (req, _reply, done) => {
      Object.assign(req, { principal: { type: 'api_key', key: { id: 7 } }, workspace: { id: 4 } })
      done()
    })
    app.get('/things/:id', async () => ({ ok: true }))
    await app.inject('/things/1')
    await app.inject('/nowhere/sk_live_abcdefghijklmnopqrstuvwx?token=secret&page=2')
    await app.close()

    const access = lines.map((line) => JSON.parse(line)).filter((entry) => entry.msg === 'request')
    expect(access).toHaveLength(2)
    for (const [i, entry] of access.entries()) {
      const { level, time, pid, hostname, reqId, msg, ...fields } = entry
      expect(typeof time).toBe('number')
      // The same text, once the clock and the duration read alike.
      const expected = pinoLine(reqId, fields).replace(/"time":\d+/, `"time":${time}`)
      expect(lines.filter((line) => line.includes('"msg":"request"'))[i]).toBe(expected)
      expect({ level, pid, hostname, reqId, msg }).toEqual({
        level: 30,
        pid: process.pid,
        hostname: expect.any(String),
        reqId: 'req_"quoted"',
        msg: 'request',
      })
    }
    expect(access[0]).toMatchObject({ method: 'GET', route: '/things/:id', status: 200, workspaceId: 4 })
    expect(access[0]).toMatchObject({ principal: 'api_key', keyId: 7 })
    expect(access[1]).toMatchObject({ method: 'GET', status: 404 })
    expect(access[1].url).toContain('page=2')
    expect(JSON.stringify(access[1])).not.toContain('sk_live_abcdefghijklmnopqrstuvwx')
    expect(JSON.stringify(access[1])).not.toContain('secret')
  })
})
