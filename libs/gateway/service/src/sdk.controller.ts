import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import { AppError } from '@svp/service-kit';
import { WIDGET_BUNDLE } from './tokens.js';

interface FileReply {
  header(name: string, value: string): FileReply;
  send(payload: string | Buffer): unknown;
}

/**
 * The widget SDK as one ES module, `GET /sdk/widget.js`, what a business's page imports:
 * `import { init } from 'https://<gateway>/sdk/widget.js'`. Built by `npm run build`
 * (libs/widget, bundled with esbuild); CORS lets any page import it.
 */
@Controller('sdk')
export class SdkController {
  constructor(@Inject(WIDGET_BUNDLE) private readonly bundlePath: string) {}

  @Get('widget.js')
  async widget(@Res() reply: FileReply): Promise<void> {
    if (!existsSync(this.bundlePath)) throw new AppError('NOT_FOUND', 'The widget bundle is not built here: run npm run build', { path: 'libs/widget/dist/widget.bundle.js' });
    const source = await readFile(this.bundlePath);
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(source);
  }

  /** Its source map (what browsers' developer tools fetch). */
  @Get('widget.bundle.js.map')
  async sourceMap(@Res() reply: FileReply): Promise<void> {
    const path = `${this.bundlePath}.map`;
    if (!existsSync(path)) throw new AppError('NOT_FOUND', 'No source map of the widget bundle here');
    reply.header('content-type', 'application/json; charset=utf-8').send(await readFile(path));
  }
}
