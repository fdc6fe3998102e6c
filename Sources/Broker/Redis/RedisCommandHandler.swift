import NIOCore

/// A command on its way to the socket, with the promise its reply will complete.
package struct RedisCommand: Sendable {
    package var arguments: [RESPArgument]
    package var promise: EventLoopPromise<RESPValue>

    package init(arguments: [RESPArgument], promise: EventLoopPromise<RESPValue>) {
        self.arguments = arguments
        self.promise = promise
    }
}

/// Matches replies to commands. Redis answers in the order it was asked, so a FIFO of
/// promises is the whole bookkeeping; the promise is queued in `write`, on the loop, in the
/// very order the bytes reach the socket, whichever thread sent the command.
package final class RedisCommandHandler: ChannelDuplexHandler {
    package typealias InboundIn = RESPMessage
    package typealias OutboundIn = RedisCommand
    package typealias OutboundOut = ByteBuffer

    private var pending = CircularBuffer<EventLoopPromise<RESPValue>>(initialCapacity: 16)
    /// Once the connection is broken no reply can come, so later commands fail at once.
    private var isClosed = false

    package init() {}

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let command = unwrapOutboundIn(data)
        guard !isClosed else {
            command.promise.fail(RedisError.connectionClosed)
            promise?.fail(RedisError.connectionClosed)
            return
        }
        var buffer = context.channel.allocator.buffer(capacity: RESPEncoder.size(of: command.arguments))
        RESPEncoder.write(command.arguments, into: &buffer)
        pending.append(command.promise)
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        // A push while commands wait is taken as the first one's reply, because in RESP3
        // that is how SUBSCRIBE is answered. Out-of-band pushes (CLIENT TRACKING, messages
        // of a subscribed connection) would then be mistaken for replies: a connection that
        // sends commands must not turn those on.
        guard let promise = pending.popFirst() else {
            // Unasked pushes (e.g. client-side caching invalidations) have no one to go to.
            if message.isPush { return }
            fail(context: context, with: .protocolError("a reply arrived with no command waiting for it"))
            return
        }
        promise.succeed(message.value)
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The decoder throws RedisError.protocolError; anything else is the socket breaking
        // (reset, or EOF in the middle of a reply).
        fail(context: context, with: error as? RedisError ?? .connectionClosed)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        failPending(with: .connectionClosed)
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, with error: RedisError) {
        failPending(with: error)
        context.close(promise: nil)
    }

    private func failPending(with error: RedisError) {
        isClosed = true
        while let promise = pending.popFirst() {
            promise.fail(error)
        }
    }
}

@available(*, unavailable)
extension RedisCommandHandler: Sendable {}
