import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { AppError } from '@svp/service-kit';

const LOOPBACK_ADDRESS = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;
const LOCAL_HOSTNAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** The host name of a Host header (`localhost:4000` → `localhost`, `[::1]:4000` → `[::1]`). */
export function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const match = host.trim().toLowerCase().match(/^(\[[^\]]+\]|[^:]+)(?::\d+)?$/);
  return match?.[1];
}

/** Whether a request comes from this machine and names it as such (what the demo answers). Pure. */
export function isLocalRequest(remoteAddress: string | undefined, host: string | undefined): boolean {
  const hostname = hostnameOf(host);
  return !!remoteAddress && LOOPBACK_ADDRESS.test(remoteAddress) && !!hostname && (LOCAL_HOSTNAMES.has(hostname) || hostname.endsWith('.localhost'));
}

/**
 * The demo answers only on this machine: the client's address must be loopback (not someone on the
 * network, even when the gateway listens on 0.0.0.0) and the Host header localhost or 127.0.0.1 (not
 * a page whose own domain was pointed at 127.0.0.1: DNS rebinding). With no CORS on /demo either,
 * other sites the developer visits cannot read the demo's keys.
 */
@Injectable()
export class LocalOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ ip?: string; socket?: { remoteAddress?: string }; headers: Record<string, string | undefined> }>();
    if (isLocalRequest(request.socket?.remoteAddress ?? request.ip, request.headers.host)) return true;
    throw new AppError('FORBIDDEN', 'The demo answers only on this machine: open it at http://localhost:<gateway port>/demo', { localOnly: true });
  }
}
