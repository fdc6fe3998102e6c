import Foundation
import HeraldSettings

/// Loads `herald serve` settings from these arguments, as the server would.
func load(_ arguments: [String], environment: [String: String] = [:]) throws(SettingsError) -> Settings {
    try Settings.load(SettingsSource(arguments: arguments, environment: environment)).settings
}

/// The one-line message `load` fails with, or nil when it succeeds.
func loadError(_ arguments: [String], environment: [String: String] = [:]) -> String? {
    do {
        _ = try load(arguments, environment: environment)
        return nil
    } catch {
        return error.description
    }
}

/// A config file in a folder of its own, removed when the value goes.
final class ConfigFixture {
    let path: String
    private let folder: URL

    init(_ text: String, name: String = "herald.toml") throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("herald-settings-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        path = folder.appendingPathComponent(name).path
        try write(text)
    }

    func write(_ text: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    /// `load` with `--config` naming this file, then `arguments`.
    func load(_ arguments: [String] = [], environment: [String: String] = [:]) throws(SettingsError) -> Settings {
        try HeraldSettingsTests.load(["--config", path] + arguments, environment: environment)
    }

    func loadError(_ arguments: [String] = []) -> String? {
        HeraldSettingsTests.loadError(["--config", path] + arguments)
    }

    deinit {
        try? FileManager.default.removeItem(at: folder)
    }
}
