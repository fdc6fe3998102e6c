import Logging

extension SettingDeclaration {
    /// Every setting of `herald serve`, in groups in the order the help and the packaged
    /// `herald.toml` list them. Adding a setting is a field on `Settings` and one line here;
    /// `reloadable` settings are the ones the server applies on SIGHUP (PROTOCOL.md §10),
    /// the others it logs as needing a restart.
    static let groups: [(title: String, settings: [SettingDeclaration])] = [
        (
            "Listeners",
            [
                .option(
                    "listen", \.listenAddress, .listenAddress,
                    help: "Where WebSocket subscribers connect; port 0 picks a free one."),
                .option(
                    "socket", \.socketPath, .path, defaultNote: "./herald.sock, or $HERALD_SOCKET",
                    help: "Unix socket for publishers."),
                .option(
                    "threads", \.threads, .wholeNumber, must: .beAtLeast(1), defaultNote: "one per core",
                    help: "Event-loop threads."),
                .flag(
                    "metrics", \.metrics,
                    help: "Also answer GET /metrics on the WebSocket listener (always on the Unix socket)."),
            ]
        ),
        (
            "History and retained messages",
            [
                .option(
                    "history", \.historyPerTopic, .wholeNumber, must: .beNonNegative,
                    help: "Messages kept per topic for `since` resume; 0 turns history off."),
                .option(
                    "max-history-bytes", \.maxHistoryBytes, .wholeNumber, must: .beNonNegative,
                    help: "Payload bytes of history across all topics; the oldest messages go first."),
                .option(
                    "history-ttl", \.historyTTLSeconds, .duration, must: .beNonNegative,
                    help: "A topic's history is dropped after this long without a publish; 0 keeps it."),
                .option(
                    "max-retained-bytes", \.maxRetainedBytes, .wholeNumber, must: .beNonNegative,
                    help: "Payload bytes of retained messages; past it a new retained topic is refused."),
            ]
        ),
        (
            "Compression",
            [
                .flag(
                    "compression", \.compression,
                    help: "Offer permessage-deflate (RFC 7692)."),
                .option(
                    "compression-threshold", \.compressionThreshold, .wholeNumber, must: .beNonNegative,
                    help: "Messages below this many bytes are sent uncompressed."),
                .option(
                    "deflate-window-bits", \.deflateWindowBits, .wholeNumber, must: .beWithin(9...15),
                    help: "LZ77 window of the shared compressor, 9 to 15; smaller saves memory."),
            ]
        ),
        (
            "Limits and slow consumers",
            [
                .option(
                    "max-message-bytes", \.maxMessageBytes, .wholeNumber, must: .bePositive,
                    help: "Largest message accepted, after inflating."),
                .option(
                    "max-frame-bytes", \.maxFrameBytes, .wholeNumber, must: .bePositive,
                    help: "Largest single WebSocket frame accepted."),
                .option(
                    "max-pending-bytes", \.maxPendingBytes, .wholeNumber, must: .bePositive,
                    help: "Outbound bytes queued per connection before the slow-consumer policy applies."),
                .option(
                    "slow-consumer", \.slowConsumer, .choice,
                    help: "disconnect (close 1008) or drop (the oldest queued messages)."),
                .list(
                    "keep-latest", \.keepLatest, .topicPattern,
                    help: "Topics for which a subscriber that falls behind keeps only the newest message; repeatable."),
                .option(
                    "handshake-timeout", \.handshakeTimeoutSeconds, .duration, must: .bePositive,
                    help: "Time a client has to complete its HTTP handshake."),
                .option(
                    "ping-interval", \.pingIntervalSeconds, .duration, must: .bePositive,
                    help: "Time between server pings."),
                .option(
                    "idle-timeout", \.idleTimeoutSeconds, .duration, must: .bePositive,
                    help: "Time without any client traffic before the connection is closed."),
                .option(
                    "max-subscriptions", \.maxSubscriptionsPerConnection, .wholeNumber, must: .bePositive,
                    help: "Subscriptions one connection may hold."),
                .option(
                    "max-connections", \.maxConnections, .wholeNumber, must: .bePositive,
                    help: "Open WebSocket connections; more are answered 503."),
                .option(
                    "max-handshakes", \.maxHandshakes, .wholeNumber, must: .bePositive,
                    help: "Connections in their HTTP handshake at once, counted apart from --max-connections."),
                .option(
                    "max-line-bytes", \.maxLineBytes, .wholeNumber, must: .beAtLeast(64),
                    help: "Longest command line on the Unix socket."),
            ]
        ),
        (
            "Access control",
            [
                .list(
                    "allow-client-publish", \.allowClientPublish, .topicPattern, reloadable: true,
                    help: "A pattern WebSocket clients may publish to; repeatable."),
                .option(
                    "auth-secret-file", \.authSecretFile, .optionalPath, reloadable: true, defaultNote: "none: access control off",
                    help: "HS256 keys, one per line; turns token access control on."),
                .list(
                    "allow-anonymous", \.allowAnonymous, .topicPattern, reloadable: true,
                    help: "A pattern connections without a token may subscribe to; repeatable."),
                .list(
                    "allowed-origin", \.allowedOrigin, .text, reloadable: true,
                    help: "An Origin allowed to connect, scheme://host[:port] or https://*.example.com; repeatable."),
            ]
        ),
        (
            "TLS",
            [
                .option(
                    "tls-cert", \.tlsCert, .optionalPath, reloadable: true, defaultNote: "none",
                    help: "PEM certificate (chain) for TLS on the listener; needs --tls-key."),
                .option(
                    "tls-key", \.tlsKey, .optionalPath, reloadable: true, defaultNote: "none",
                    help: "PEM private key of --tls-cert."),
            ]
        ),
        (
            "Several brokers",
            [
                .option(
                    "redis", \.redis, .optionalURL, defaultNote: "none: one broker on its own",
                    help: "redis://[[user]:password@]host[:port][/db] or unix:///path: brokers sharing it act as one."),
                .option(
                    "redis-prefix", \.redisPrefix, .text,
                    help: "Prefix of herald's Redis keys; brokers with the same Redis and prefix act as one."),
            ]
        ),
        (
            "Shutdown and logs",
            [
                .option(
                    "shutdown-grace", \.shutdownGraceSeconds, .duration, must: .beNonNegative,
                    help: "Time a graceful shutdown may take."),
                .option(
                    "log-level", \.logLevel, .choice, reloadable: true,
                    help: "Least severe log records written to standard error."),
                .option(
                    "log-format", \.logFormat, .choice,
                    help: "text, or json for one object per line."),
            ]
        ),
    ]

    static let all = groups.flatMap(\.settings)

    /// `config` is not here: it names the file, so it cannot be read from it.
    static let named = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })
}
