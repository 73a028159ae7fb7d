export const EVENT_STORE = Symbol('EVENT_STORE');
export const API_KEYS_READ_MODEL = Symbol('API_KEYS_READ_MODEL');
export const IDENTITY_LOGGER = Symbol('IDENTITY_LOGGER');
