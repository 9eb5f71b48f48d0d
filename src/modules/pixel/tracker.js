// core-api pixel: privacy-first page analytics. No cookies, no storage, no dependencies.
// <script defer src="https://<core-api>/pixel.js" data-domain="example.com"></script>
// Opt out in a browser: localStorage.setItem('pixel_ignore', 'true').
;(() => {
  const script = document.currentScript
  if (!script?.src) return
  const origin = new URL(script.src).origin
  const endpoint = `${origin}/api/v1/pixel/track`
  const DOWNLOADS =
    /\.(pdf|zip|gz|tgz|rar|7z|dmg|exe|msi|pkg|deb|rpm|apk|csv|xlsx?|docx?|pptx?|mp3|mp4|mov|avi|wav|iso)$/i
  let queue = window.pixel?.q || []
  let features = null
  let lastPath = null

  const optedOut = () => {
    try {
      return window.localStorage.getItem('pixel_ignore') === 'true'
    } catch {
      return false
    }
  }

  const send = (name, props) => {
    if (!features || optedOut()) return
    if (name === 'pageview' ? !features.pageviews : !features.events) return
    const body = JSON.stringify({
      event: name,
      url: location.href,
      referrer: document.referrer || null,
      properties: props || undefined,
    })
    // A string body is text/plain: no CORS preflight, and a beacon outlives the page.
    if (navigator.sendBeacon?.(endpoint, body)) return
    fetch(endpoint, {
      method: 'POST',
      body,
      keepalive: true,
      credentials: 'omit',
      headers: { 'Content-Type': 'text/plain' },
    }).catch(() => {})
  }

  const pageview = () => {
    if (location.pathname === lastPath) return
    lastPath = location.pathname
    send('pageview')
  }

  /** pixel('Signup', { props: { plan: 'pro' } }) sends a custom event. */
  const pixel = (name, options) => {
    if (!features) return queue.push([name, options])
    send(name, options?.props)
  }
  window.pixel = pixel

  const onClick = (event) => {
    if (event.type === 'auxclick' && event.button !== 1) return
    const link = event.target?.closest?.('a[href]')
    if (!link) return
    let url
    try {
      url = new URL(link.href, location.href)
    } catch {
      return
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return
    if (features.file_downloads && DOWNLOADS.test(url.pathname)) send('File Download', { url: url.href })
    else if (features.outbound_links && url.host !== location.host)
      send('Outbound Link: Click', { url: url.href })
  }

  const start = (config) => {
    if (!config?.enabled) return
    if (config.features.respect_dnt && (navigator.doNotTrack === '1' || window.doNotTrack === '1')) return
    features = config.features
    // Single-page applications: each History API navigation and back/forward is a page view.
    for (const method of ['pushState', 'replaceState']) {
      const original = history[method]
      history[method] = function (...args) {
        const result = original.apply(this, args)
        pageview()
        return result
      }
    }
    window.addEventListener('popstate', pageview)
    if (features.outbound_links || features.file_downloads) {
      document.addEventListener('click', onClick)
      document.addEventListener('auxclick', onClick)
    }
    pageview()
    for (const [name, options] of queue) pixel(name, options)
    queue = []
  }

  if (optedOut()) return
  const domain = script.getAttribute('data-domain') || location.hostname
  fetch(`${origin}/api/v1/pixel/config?domain=${encodeURIComponent(domain)}`, { credentials: 'omit' })
    .then((response) => (response.ok ? response.json() : null))
    .then(start)
    .catch(() => {})
})()
