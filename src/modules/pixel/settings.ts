// Settings only the pixel reads.
import { defineSettings, integer } from '../../platform/config/index.ts'

export const pixelSettings = defineSettings('pixel', {
  trackPerMinute: {
    env: 'RATE_LIMIT_PIXEL_PER_MINUTE',
    default: 300,
    parse: integer(0, 10_000_000),
    doc: '`POST /api/v1/pixel/track` requests per minute per client IP, in a bucket of their own (no burst); `0` turns it off',
  },
  retentionDays: {
    env: 'PIXEL_RETENTION_DAYS',
    default: 0,
    parse: integer(0, 36_500),
    doc: 'days raw pixel events are kept (purged hourly); `0` keeps them',
  },
})
