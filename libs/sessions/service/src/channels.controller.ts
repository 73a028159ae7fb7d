import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { ChannelIdParams, CreateChannelBody, SendFailureBody, UpdateChannelBody } from '@svp/contracts';
import { ApiKeyGuard, Auth, type AuthContext, RequireScopes, ZodPipe } from '@svp/service-kit';
import type { z } from 'zod';
import type { SessionsCore } from './sessions-core.js';
import { SESSIONS_CORE } from './tokens.js';

type ChannelParams = z.infer<typeof ChannelIdParams>;

/** The org's channel registry: states and limits give the channel-side reply statuses. */
@Controller('v1/channels')
@UseGuards(ApiKeyGuard)
export class ChannelsController {
  constructor(@Inject(SESSIONS_CORE) private readonly sessions: SessionsCore) {}

  @Post()
  @HttpCode(201)
  @RequireScopes('sessions:write')
  create(@Body(new ZodPipe(CreateChannelBody, 'body')) body: z.infer<typeof CreateChannelBody>, @Auth() auth: AuthContext) {
    return this.sessions.createChannel(auth.orgId, body);
  }

  @Get(':channelId')
  @RequireScopes('sessions:read')
  get(@Param(new ZodPipe(ChannelIdParams, 'path')) params: ChannelParams, @Auth() auth: AuthContext) {
    return this.sessions.getChannel(auth.orgId, params.channelId);
  }

  /** Changes the channel's state and/or limits. */
  @Patch(':channelId')
  @RequireScopes('sessions:write')
  update(
    @Param(new ZodPipe(ChannelIdParams, 'path')) params: ChannelParams,
    @Body(new ZodPipe(UpdateChannelBody, 'body')) body: z.infer<typeof UpdateChannelBody>,
    @Auth() auth: AuthContext,
  ) {
    return this.sessions.updateChannel(auth.orgId, params.channelId, body);
  }

  /** The channel reports a send failure: reply status UNEXPECTED_ERROR until it recovers. */
  @Post(':channelId/send-failures')
  @HttpCode(200)
  @RequireScopes('sessions:write')
  failed(
    @Param(new ZodPipe(ChannelIdParams, 'path')) params: ChannelParams,
    @Body(new ZodPipe(SendFailureBody, 'body')) body: z.infer<typeof SendFailureBody>,
    @Auth() auth: AuthContext,
  ) {
    return this.sessions.reportSendFailure(auth.orgId, params.channelId, body.reason);
  }

  @Delete(':channelId/send-failures')
  @RequireScopes('sessions:write')
  recovered(@Param(new ZodPipe(ChannelIdParams, 'path')) params: ChannelParams, @Auth() auth: AuthContext) {
    return this.sessions.reportSendFailure(auth.orgId, params.channelId, null);
  }
}
