// First: loads @nestjs/common with its unused logger's date formatter deferred (about 8 MB of RSS).
import '@svp/service-kit/preload';
import { runStandalone } from '@svp/service-kit';
import { gatewayService } from '@svp/gateway-service';

await runStandalone(gatewayService());
