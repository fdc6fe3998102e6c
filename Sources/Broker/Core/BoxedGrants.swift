import HeraldAuth

/// A connection's verified claims behind one reference: most connections hold no token,
/// and an optional reference costs them one word where the claims inline would cost seven.
package final class BoxedGrants: Sendable {
    package let grants: Grants

    package init(_ grants: Grants) {
        self.grants = grants
    }
}
