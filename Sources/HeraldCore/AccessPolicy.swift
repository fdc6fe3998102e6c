import NIOConcurrencyHelpers
import Topics

/// The part of the settings that SIGHUP changes while connections stay open (CONTRACT §10).
/// It is read where a request is decided (a handshake, a client publish), never per
/// delivery, so a lock costs nothing that matters.
package struct AccessPolicy: Sendable, Equatable {
    package var allowClientPublish: [TopicPattern]

    package init(allowClientPublish: [TopicPattern]) {
        self.allowClientPublish = allowClientPublish
    }

    package func allowsClientPublish(to topic: TopicName) -> Bool {
        allowClientPublish.contains { $0.matches(topic) }
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
