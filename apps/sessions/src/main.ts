// First: loads @nestjs/common with its unused logger's date formatter deferred (about 8 MB of RSS).
import '@svp/service-kit/preload';
import { runStandalone } from '@svp/service-kit';
import { sessionsService } from '@svp/sessions-service';

await runStandalone((env) => {
  if (!env.SIGNING_SECRETS_KEY && !env.PLATFORM_ROOT_TOKEN) {
    process.stderr.write('The sessions service seals webhook secrets: set SIGNING_SECRETS_KEY (32 bytes, base64) or PLATFORM_ROOT_TOKEN.\n');
    process.exit(2);
  }
  return sessionsService();
});
