// First: loads @nestjs/common with its unused logger's date formatter deferred (about 8 MB of RSS).
import '@svp/service-kit/preload';
import { identityService } from '@svp/identity-service';
import { runStandalone } from '@svp/service-kit';

await runStandalone((env) => {
  if (!env.PLATFORM_ROOT_TOKEN) {
    process.stderr.write('PLATFORM_ROOT_TOKEN is required to run the identity service on its own (at least 16 characters).\n');
    process.exit(2);
  }
  return identityService({ rootToken: env.PLATFORM_ROOT_TOKEN });
});
