// What an event keeps of its user agent: bots and an empty user agent are refused, browsers are
// told apart, and the answer for a user agent is the same whether it was remembered or not.
import { describe, expect, it } from 'vitest'
import { agentOf } from './parse.ts'

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36'
const IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1'
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)'

describe('agentOf', () => {
  it('refuses bots and an empty user agent, and names browser, OS and device', () => {
    expect(agentOf('')).toBeNull()
    expect(agentOf(BOT)).toBeNull()
    expect(agentOf('curl/8.5.0')).toBeNull()
    expect(agentOf(CHROME)).toEqual({ device: 'desktop', browser: 'Chrome', os: 'Linux' })
    expect(agentOf(IPHONE)).toEqual({ device: 'mobile', browser: 'Safari', os: 'iOS' })
  })

  it('answers alike from memory, for long user agents (not remembered) and past the bound', () => {
    const first = agentOf(CHROME)
    expect(agentOf(CHROME)).toEqual(first)
    expect(agentOf(BOT)).toBeNull()
    const long = `${CHROME} ${'x'.repeat(600)}`
    expect(agentOf(long)).toEqual(first)
    expect(agentOf(long)).toEqual(first)
    // Many distinct user agents: the oldest are forgotten, and answers stay right.
    for (let i = 0; i < 12_000; i++) agentOf(`${CHROME} build/${i}`)
    expect(agentOf(CHROME)).toEqual(first)
    expect(agentOf(BOT)).toBeNull()
  })
})
