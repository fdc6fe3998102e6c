import HeraldAuth
import HeraldCore
import HeraldSettings

extension AccessPolicy {
    /// The policy `settings` describe, reading the key file: at start, and again on SIGHUP.
    /// - Throws: `HeraldServer.StartError`, one line naming the file or the entry at fault.
    static func load(_ settings: Settings) throws -> AccessPolicy {
        var keys: AuthKeys?
        if let path = settings.authSecretFile {
            let contents = try FileContents.readForStart(path, purpose: "auth secret file")
            do {
                keys = try AuthKeys(parsing: contents)
            } catch {
                throw HeraldServer.StartError(description: "auth secret file \(path): \(error)")
            }
        }
        let origins: OriginAllowList
        do {
            origins = try OriginAllowList(entries: settings.allowedOrigin)
        } catch {
            throw HeraldServer.StartError(description: "\(error)")
        }
        return AccessPolicy(keys: keys, allowAnonymous: settings.allowAnonymous, allowClientPublish: settings.allowClientPublish, origins: origins)
    }
}

extension FileContents {
    /// `read`, failing as the server's start or reload does.
    static func readForStart(_ path: String, purpose: String) throws(HeraldServer.StartError) -> [UInt8] {
        do { return try read(path, purpose: purpose) } catch { throw HeraldServer.StartError(description: error.description) }
    }
}
