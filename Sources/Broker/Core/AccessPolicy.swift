import HeraldAuth
import NIOConcurrencyHelpers
import Topics

/// The rules a handshake, a subscription and a client publish are checked against: the
/// part of the settings that SIGHUP changes while connections stay open (PROTOCOL.md §7, §10).
/// It is read where a request is decided, never per delivery, so a lock costs nothing that
/// matters.
package struct AccessPolicy: Sendable {
    /// nil: access control is off, and every connection may subscribe to anything.
    package var keys: AuthKeys?
    package var allowAnonymous: [TopicPattern]
    package var allowClientPublish: [TopicPattern]
    package var origins: OriginAllowList

    package init(
        keys: AuthKeys? = nil, allowAnonymous: [TopicPattern] = [], allowClientPublish: [TopicPattern] = [],
        origins: OriginAllowList = try! OriginAllowList(entries: [])
    ) {
        self.keys = keys
        self.allowAnonymous = allowAnonymous
        self.allowClientPublish = allowClientPublish
        self.origins = origins
    }

    /// `grants` nil: a connection without a token. A token holder's rights come from its
    /// claims alone.
    package func maySubscribe(to pattern: TopicPattern, grants: Grants?) -> Bool {
        if let grants { return grants.maySubscribe(to: pattern) }
        return keys == nil || allowAnonymous.contains { $0.covers(pattern) }
    }

    package func mayPublish(to topic: TopicName, grants: Grants?) -> Bool {
        if let grants { return grants.mayPublish(to: topic) }
        return allowClientPublish.contains { $0.matches(topic) }
    }
}

/// The policy in force, swapped whole on reload so that a reader never sees half of one.
package final class AccessPolicyStore: Sendable {
    private let box: NIOLockedValueBox<AccessPolicy>

    package init(_ policy: AccessPolicy) {
        box = NIOLockedValueBox(policy)
    }

    package var current: AccessPolicy { box.withLockedValue { $0 } }

    package func replace(with policy: AccessPolicy) {
        box.withLockedValue { $0 = policy }
    }
}
