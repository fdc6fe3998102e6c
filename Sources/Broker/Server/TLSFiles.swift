import HeraldSettings
import NIOSSL

/// The listener's TLS (PROTOCOL.md §8): a context built from the PEM files, TLS 1.2 and 1.3
/// only. Files are read through `FileContents` so that an error names the file.
enum TLSFiles {
    /// nil when the settings ask for no TLS.
    static func context(_ settings: Settings) throws -> NIOSSLContext? {
        guard let certPath = settings.tlsCert, let keyPath = settings.tlsKey else { return nil }
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMBytes(try FileContents.readForStart(certPath, purpose: "TLS certificate"))
        } catch let error as HeraldServer.StartError {
            throw error
        } catch {
            throw HeraldServer.StartError(description: "TLS certificate \(certPath) is not a PEM certificate: \(error)")
        }
        guard !chain.isEmpty else { throw HeraldServer.StartError(description: "TLS certificate \(certPath) holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(bytes: try FileContents.readForStart(keyPath, purpose: "TLS key"), format: .pem)
        } catch let error as HeraldServer.StartError {
            throw error
        } catch {
            throw HeraldServer.StartError(description: "TLS key \(keyPath) is not a PEM private key: \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw HeraldServer.StartError(description: "TLS certificate \(certPath) and key \(keyPath) do not make a context: \(error)")
        }
    }
}
