import { Module } from '@nestjs/common';
import { ReadStreamHttpController } from './read-stream.http.controller.js';

/** Reading a stream's events as stored (sealed fields opened for the roles that may see them). */
@Module({ controllers: [ReadStreamHttpController] })
export class StreamsModule {}
