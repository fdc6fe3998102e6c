import HeraldRedis

/// One publish, accepted atomically (PROTOCOL.md §13): the epoch (made here if Redis lost it),
/// the next seq, the entry in the log that every broker reads, and the retained message.
/// KEYS: seq, epoch, log, retained. ARGV: topic, payload, retain (0/1), binary (0/1), a
/// fresh epoch in case there is none, the log's length. Returns `{seq, epoch}`.
enum AcceptScript {
    static let script = RedisScript(source)

    static let source = """
        local epoch = redis.call('GET', KEYS[2])
        if not epoch then
          epoch = ARGV[5]
          redis.call('SET', KEYS[2], epoch)
        end
        local seq = redis.call('INCR', KEYS[1])
        redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[6], seq .. '-1',
          't', ARGV[1], 'p', ARGV[2], 'r', ARGV[3], 'b', ARGV[4], 'e', epoch)
        if ARGV[3] == '1' then
          if ARGV[2] == '' then
            redis.call('HDEL', KEYS[4], ARGV[1])
          else
            redis.call('HSET', KEYS[4], ARGV[1], seq .. ':' .. ARGV[4] .. ':' .. ARGV[2])
          end
        end
        return {seq, epoch}
        """
}
