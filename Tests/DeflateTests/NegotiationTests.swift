import Deflate
import Testing

@Suite struct NegotiationTests {
    let negotiator = DeflateNegotiator()

    @Test(
        arguments: [
            // (offers, expected response with the default policy; nil = declined)
            ("permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
            (
                "permessage-deflate; client_max_window_bits",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"
            ),
            (
                "permessage-deflate; server_max_window_bits=\"12\"",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12"
            ),
            (
                "PerMessage-Deflate ;  Server_No_Context_Takeover",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            ),
            // The first offer asks for an 8-bit window, which zlib cannot honour: the second wins.
            (
                "permessage-deflate; server_max_window_bits=8, permessage-deflate",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            ),
            (
                "x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=9",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
            ),
            ("permessage-deflate; server_max_window_bits=8", nil),
            ("permessage-deflate; server_max_window_bits=16", nil),
            ("permessage-deflate; server_max_window_bits=010", nil),
            ("permessage-deflate; server_max_window_bits", nil),
            ("permessage-deflate; client_max_window_bits=7", nil),
            ("permessage-deflate; server_no_context_takeover=1", nil),
            ("permessage-deflate; server_no_context_takeover; server_no_context_takeover", nil),
            ("permessage-deflate; mystery_parameter", nil),
            ("permessage-deflate; =10", nil),
            ("permessage-deflate; server_max_window_bits=\"1 0\"", nil),
            ("x-webkit-deflate-frame", nil),
            ("", nil),
        ] as [(String, String?)])
    func responseForOffer(offer: String, expected: String?) {
        #expect(negotiator.negotiate(headerValues: [offer])?.responseHeaderValue == expected)
    }

    @Test func severalHeadersFormOneList() {
        let agreed = negotiator.negotiate(headerValues: ["foo; a=\"x,y\"", "permessage-deflate; server_max_window_bits=11"])
        #expect(agreed?.serverMaxWindowBits == 11)
    }

    @Test func quotedCommaDoesNotSplitOffers() {
        let offers = ExtensionOffer.parse(headerValues: ["a; p=\"x,y\", b; q=\"10\""])
        #expect(offers.count == 2)
        // RFC 6455 §9.1: an unquoted value must be a token, and "x,y" is not.
        #expect(offers[0] == nil)
        #expect(offers[1] == ExtensionOffer(name: "b", parameters: [.init(name: "q", value: "10")]))
    }

    @Test func serverWindowPolicyIsAnnouncedAndCapsRequests() {
        let small = DeflateNegotiator(serverMaxWindowBits: 10)
        #expect(
            small.negotiate(headerValues: ["permessage-deflate"])?.responseHeaderValue
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")
        #expect(small.negotiate(headerValues: ["permessage-deflate; server_max_window_bits=12"])?.serverMaxWindowBits == 10)
        #expect(small.negotiate(headerValues: ["permessage-deflate; server_max_window_bits=9"])?.serverMaxWindowBits == 9)
    }

    @Test func clientWindowOnlyAnnouncedWhenOfferedAndLimited() {
        let limited = DeflateNegotiator(clientMaxWindowBits: 10)
        #expect(limited.negotiate(headerValues: ["permessage-deflate"])?.announceClientWindow == false)
        let agreed = limited.negotiate(headerValues: ["permessage-deflate; client_max_window_bits"])
        #expect(agreed?.responseHeaderValue.hasSuffix("client_max_window_bits=10") == true)
        #expect(limited.negotiate(headerValues: ["permessage-deflate; client_max_window_bits=9"])?.clientMaxWindowBits == 9)
    }

    @Test func takeoverKeptWhenPolicyAllowsIt() {
        let keeping = DeflateNegotiator(forceServerNoContextTakeover: false, forceClientNoContextTakeover: false)
        #expect(keeping.negotiate(headerValues: ["permessage-deflate"])?.responseHeaderValue == "permessage-deflate")
        let asked = keeping.negotiate(headerValues: ["permessage-deflate; server_no_context_takeover"])
        #expect(asked?.serverNoContextTakeover == true)
        #expect(asked?.clientNoContextTakeover == false)
    }
}
