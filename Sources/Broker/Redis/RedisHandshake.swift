import NIOCore

extension RedisConnection {
    /// HELLO (with AUTH in it) and SELECT go out together, costing one round trip on any
    /// Redis from 6 on. Older servers, or ones where HELLO is renamed or denied, answer
    /// HELLO with an error; they are then spoken to in RESP2 with a separate AUTH.
    func handshake(_ url: RedisURL) -> EventLoopFuture<Void> {
        var hello: [RESPArgument] = ["HELLO", "3"]
        if let password = url.password {
            // HELLO's AUTH always names a user; "default" is the one `requirepass` sets.
            hello += ["AUTH", .string(url.username ?? "default"), .string(password)]
        }
        let helloReply = sendWithoutFlush(hello)
        let selectReply = url.database != 0 ? sendWithoutFlush(["SELECT", .integer(Int64(url.database))]) : nil
        flush()

        return helloReply.flatMap { reply -> EventLoopFuture<Void> in
            guard case .error(let message) = reply else {
                return Self.check(selectReply, on: self.eventLoop)
            }
            if url.password == nil, message.hasPrefix("NOAUTH") {
                // The server wants a password we do not have: in RESP2 every command
                // would fail the same way, so fail now, where the cause is clear.
                return self.eventLoop.makeFailedFuture(RedisError.server(message))
            }
            guard let password = url.password else {
                return Self.check(selectReply, on: self.eventLoop)
            }
            // The SELECT sent with HELLO came before authentication and failed; its reply
            // is awaited only to keep the FIFO in step, then SELECT is sent again.
            let auth: [RESPArgument] = url.username.map { ["AUTH", .string($0), .string(password)] } ?? ["AUTH", .string(password)]
            let afterSelect = selectReply.map { $0.map { _ in () } } ?? self.eventLoop.makeSucceededVoidFuture()
            return afterSelect.flatMap {
                Self.check(self.send(auth), on: self.eventLoop)
            }.flatMap {
                guard url.database != 0 else { return self.eventLoop.makeSucceededVoidFuture() }
                return Self.check(self.send(["SELECT", .integer(Int64(url.database))]), on: self.eventLoop)
            }
        }
    }

    private static func check(_ reply: EventLoopFuture<RESPValue>?, on eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        guard let reply else { return eventLoop.makeSucceededVoidFuture() }
        return reply.flatMapThrowing { value in
            if case .error(let message) = value { throw RedisError.server(message) }
        }
    }
}
