/** Shared JSON schemas of the portal API. */
export const ErrorBody = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
} as const;

export const UserBody = {
  type: 'object',
  properties: {
    username: { type: 'string' },
    role: { type: 'string', enum: ['admin', 'auditor'] },
    disabled: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
    lastLoginAt: { type: 'string', format: 'date-time' },
    lockedUntil: { type: 'string', format: 'date-time' },
  },
} as const;

export const SessionBody = {
  type: 'object',
  properties: {
    user: { type: 'object', properties: { username: { type: 'string' }, role: { type: 'string', enum: ['admin', 'auditor'] } } },
    csrfToken: { type: 'string' },
  },
} as const;

export const AnyObject = { type: 'object', additionalProperties: true } as const;

export const Page = {
  type: 'object',
  properties: {
    items: { type: 'array', items: AnyObject },
    nextCursor: { type: ['string', 'null'] },
  },
} as const;

export const Password = { type: 'string', minLength: 1, maxLength: 1024 } as const;
