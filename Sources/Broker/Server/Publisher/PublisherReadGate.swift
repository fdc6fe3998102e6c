import HeraldCore
import NIOCore

/// When a publisher connection, of either protocol, is read from: only while its replies
/// can be written and the core keeps up (PROTOCOL.md §6), and while the handler has room
/// for more (`hasRoomForCommands`). A read NIO asks for otherwise waits in `readHeld`.
/// A conforming channel handler gets its `read` and `channelWritabilityChanged` here.
protocol PublisherReadGate: ChannelDuplexHandler {
    var core: BrokerCore { get }
    var context: ChannelHandlerContext? { get }
    var readHeld: Bool { get set }
    var hasRoomForCommands: Bool { get }
}

extension PublisherReadGate {
    func read(context: ChannelHandlerContext) {
        guard context.channel.isWritable, hasRoomForCommands else {
            readHeld = true
            return
        }
        guard !core.isBackedUp else {
            readHeld = true
            let gate = NIOLoopBound(self, eventLoop: context.eventLoop)
            core.whenCaughtUp { gate.value.resumeReading() }
            return
        }
        context.read()
    }

    func resumeReading() {
        guard readHeld, hasRoomForCommands, let context, context.channel.isWritable else { return }
        readHeld = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable && !core.isBackedUp { resumeReading() }
        context.fireChannelWritabilityChanged()
    }
}
