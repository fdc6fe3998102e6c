/// The figures STATS, `/stats` and `/metrics` report (PROTOCOL.md §5, §10), read on the core
/// loop in one go so that the two formats agree.
package struct BrokerStats: Sendable {
    package var webSocketConnections = 0
    package var sseConnections = 0
    package var publishers = 0
    package var subscriptions = 0
    package var topics = 0
    package var published = 0
    package var delivered = 0
    package var dropped = 0
    package var conflated = 0
    package var slowDisconnects = 0
    package var bytesOut = 0
    package var authFailures = 0
    package var historyBytes = 0
    package var retainedBytes = 0
    package var epoch = ""
    package var seq: UInt64 = 0
    package var backplane = "local"
    package var backplaneConnected = true

    package var connections: Int { webSocketConnections + sseConnections }

    package var json: String {
        """
        {"connections":\(connections),"publishers":\(publishers),"subscriptions":\(subscriptions),\
        "topics":\(topics),"published":\(published),"delivered":\(delivered),"dropped":\(dropped),\
        "conflated":\(conflated),"slow_disconnects":\(slowDisconnects),"bytes_out":\(bytesOut),\
        "auth_failures":\(authFailures),"history_bytes":\(historyBytes),"retained_bytes":\(retainedBytes),\
        "epoch":"\(epoch)","seq":\(seq),"backplane":"\(backplane)","backplane_connected":\(backplaneConnected)}
        """
    }
}
