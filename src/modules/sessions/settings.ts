import { defineSettings, integer } from '../../platform/config/index.ts'

export const sessionSettings = defineSettings('sessions', {
  idleMinutes: {
    env: 'SESSION_IDLE_MINUTES',
    default: 1440,
    parse: integer(1, 525_600),
    doc: 'a dashboard session ends after this many minutes without a request',
  },
  lifetimeHours: {
    env: 'SESSION_LIFETIME_HOURS',
    default: 168,
    parse: integer(1, 8760),
    doc: 'a dashboard session ends this many hours after sign-in, however active',
  },
  signInMaxFailures: {
    env: 'SIGN_IN_MAX_FAILURES',
    default: 5,
    parse: integer(1, 1000),
    doc: 'failed sign-ins of one email, within the lockout period, that lock it',
  },
  signInLockoutMinutes: {
    env: 'SIGN_IN_LOCKOUT_MINUTES',
    default: 15,
    parse: integer(1, 10_080),
    doc: 'how long a locked email refuses sign-ins (429), and the window failures are counted in',
  },
  signInPerMinute: {
    env: 'SIGN_IN_PER_MINUTE',
    default: 10,
    parse: integer(0, 1_000_000),
    doc: 'sign-in attempts per client address per minute (`0` = no such budget)',
  },
})
