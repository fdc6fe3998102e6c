/// Values stored under topic names and found by pattern: the shape of retained messages
/// and per-topic history. A pattern lookup visits only the branches the pattern allows,
/// as mosquitto's `retain.c` keeps its own tree.
public struct TopicTree<Value> {
    final class Node {
        var children: [String: Node] = [:]
        var value: Value?

        func child(_ segment: String) -> Node {
            if let child = children[segment] { return child }
            let child = Node()
            children[segment] = child
            return child
        }
    }

    private var root = Node()
    public private(set) var count = 0

    public init() {}

    public subscript(topic: TopicName) -> Value? {
        get {
            var node = root
            for segment in topic.segments {
                guard let next = node.children[String(segment)] else { return nil }
                node = next
            }
            return node.value
        }
        set {
            if let newValue {
                let node = nodeCreating(topic)
                if node.value == nil { count += 1 }
                node.value = newValue
            } else if Self.removeValue(topic.segments[...], from: root) {
                count -= 1
            }
        }
    }

    /// Mutates the value under `topic` in place, made by `make` first when absent: one walk
    /// down the tree, and no copy of the value (a history ring is not copied per publish).
    public mutating func modify<Result>(_ topic: TopicName, creating make: () -> Value, _ body: (inout Value) throws -> Result) rethrows -> Result {
        let node = nodeCreating(topic)
        if node.value == nil {
            node.value = make()
            count += 1
        }
        return try body(&node.value!)
    }

    private func nodeCreating(_ topic: TopicName) -> Node {
        var node = root
        for segment in topic.segments { node = node.child(String(segment)) }
        return node
    }

    private static func removeValue(_ segments: ArraySlice<Substring>, from node: Node) -> Bool {
        guard let segment = segments.first else {
            guard node.value != nil else { return false }
            node.value = nil
            return true
        }
        let key = String(segment)
        guard let child = node.children[key], removeValue(segments.dropFirst(), from: child) else { return false }
        if child.value == nil && child.children.isEmpty { node.children[key] = nil }
        return true
    }
}
