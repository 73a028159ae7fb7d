import { runStandalone } from '@svp/service-kit';
import { variablesService } from '@svp/variables-service';

await runStandalone(variablesService);
