// The HTTP client of the end-to-end checks: the drills' own (built with the platform, `npm run drills`).
export { type HttpAnswer, call, createOrg } from '../drills/http.js';
