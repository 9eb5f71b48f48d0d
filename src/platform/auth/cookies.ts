// The two cookie operations the platform needs, without a cookie plugin parsing every request:
// reading one cookie when a request carries no Authorization header, and writing one.

const COOKIE_NAME = /^[A-Za-z0-9_-]+$/

/** The value of cookie `name` in a Cookie header, or null. */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq < 0) continue
    if (part.slice(0, eq).trim() !== name) continue
    const value = part.slice(eq + 1).trim()
    return value === '' ? null : value
  }
  return null
}

export type CookieOptions = {
  /** Seconds until the browser forgets it; 0 deletes it. */
  maxAge: number
  /** Sent only over HTTPS. */
  secure: boolean
}

/** A Set-Cookie value: HttpOnly, SameSite=Lax, for the whole site. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  if (!COOKIE_NAME.test(name) || !/^[A-Za-z0-9_\-.~]*$/.test(value)) throw new Error('Invalid cookie')
  const parts = [`${name}=${value}`, 'Path=/', `Max-Age=${options.maxAge}`, 'HttpOnly', 'SameSite=Lax']
  if (options.secure) parts.push('Secure')
  return parts.join('; ')
}

/** Cookies may drop `Secure` only when the server's public address is this machine. */
export function secureCookies(publicUrl: string): boolean {
  const url = new URL(publicUrl)
  const host = url.hostname.replace(/^\[|\]$/g, '')
  const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host)
  return url.protocol === 'https:' || !loopback
}
