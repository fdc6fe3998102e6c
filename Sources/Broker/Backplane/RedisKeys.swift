/// herald's keys in Redis, all under `--redis-prefix` so that several groups of brokers can
/// share one Redis (PROTOCOL.md §13).
struct RedisKeys: Sendable {
    /// The one seq counter of every broker of the group.
    let seq: String
    /// The group's epoch: a new one when Redis lost its data.
    let epoch: String
    /// Every accepted message in seq order (a stream, entry id `<seq>-1`): the hand-off each
    /// broker reads from its last id, and the history a broker that starts late mirrors.
    let log: String
    /// Retained messages by topic: `<seq>:<binary>:<payload>`.
    let retained: String

    init(prefix: String) {
        seq = prefix + ":seq"
        epoch = prefix + ":epoch"
        log = prefix + ":log"
        retained = prefix + ":retained"
    }
}
