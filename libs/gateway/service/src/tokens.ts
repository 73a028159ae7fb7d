/** Nest injection tokens of the gateway. */
export const GATEWAY_RUNTIME = Symbol('GATEWAY_RUNTIME');
export const WIDGET_BUNDLE = Symbol('WIDGET_BUNDLE');
export const DEMO = Symbol('DEMO');
