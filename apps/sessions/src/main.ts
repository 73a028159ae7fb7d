import { runStandalone } from '@svp/service-kit';
import { sessionsService } from '@svp/sessions-service';

await runStandalone(sessionsService);
