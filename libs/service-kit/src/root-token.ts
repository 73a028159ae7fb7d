import { createHash, timingSafeEqual } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { AppError } from './app-error.js';
import { bearerToken } from './auth.js';

/** Compares a presented root token with the configured one in constant time (digests, equal length). */
export function rootTokenMatches(presented: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** Throws the contract's 401/403 unless `authorization` carries the root token. */
export function requireRootToken(authorization: string | string[] | undefined, rootToken: string | undefined): void {
  if (!rootToken) throw new AppError('FORBIDDEN', 'This needs PLATFORM_ROOT_TOKEN to be set on this service');
  const token = bearerToken(authorization);
  if (!token) throw new AppError('UNAUTHENTICATED', 'Missing "Authorization: Bearer <root token>" header');
  if (!rootTokenMatches(token, rootToken)) throw new AppError('FORBIDDEN', 'This needs the root token');
}

export const ROOT_TOKEN = Symbol('ROOT_TOKEN');

/** Guards a route with the root token, before its body is even parsed. */
@Injectable()
export class RootTokenGuard implements CanActivate {
  constructor(@Inject(ROOT_TOKEN) private readonly rootToken: string | undefined) {}
  canActivate(context: ExecutionContext): boolean {
    requireRootToken(context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>().headers.authorization, this.rootToken);
    return true;
  }
}
