import { runStandalone } from '@svp/service-kit';
import { gatewayService } from '@svp/gateway-service';

await runStandalone(gatewayService());
