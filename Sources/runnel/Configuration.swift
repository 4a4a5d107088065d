import FoundationEssentials
import HTTPServer
import RunsAPI
import RunsStorage
import RunsDomain

struct ConfigurationError: Error, CustomStringConvertible {
    var description: String
}

/// The resolved settings of `runnel serve`.
struct Configuration {
    var values: [String: String] = [:]
    var apiKeys: [APIKeys.Entry] = []
    var showHelp = false

    func string(_ key: String) -> String { values[key]! }
    func int(_ key: String) -> Int { Int(values[key]!)! }
    func seconds(_ key: String) -> Double { Double(values[key]!)! }

    /// Reads flags, then the environment, then the config file (from `--config` or
    /// `RUNNEL_CONFIG`), and fills in defaults.
    static func resolve(arguments: [String], environment: [String: String]) throws -> Configuration {
        var configuration = Configuration()
        var flagValues: [String: String] = [:]
        var flagKeys: [String] = []
        var configPath = environment["RUNNEL_CONFIG"]
        var index = 0
        func value(for flag: String, inline: String?) throws -> String {
            if let inline { return inline }
            index += 1
            guard index < arguments.count else { throw ConfigurationError(description: "\(flag) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            let argument = arguments[index]
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            let flag = parts[0]
            let inline = parts.count > 1 ? parts[1] : nil
            if flag == "--help" || flag == "-h" {
                configuration.showHelp = true
            } else if flag == "--config" {
                configPath = try value(for: flag, inline: inline)
            } else if flag == "--api-key" {
                flagKeys.append(try value(for: flag, inline: inline))
            } else if let spec = SettingSpec.all.first(where: { $0.flag == flag }) {
                flagValues[spec.key] = try value(for: flag, inline: inline)
            } else {
                throw ConfigurationError(description: "unknown option \(argument) (see runnel serve --help)")
            }
            index += 1
        }
        if configuration.showHelp { return configuration }

        var fileValues: [String: String] = [:]
        var fileKeys: [APIKeys.Entry] = []
        if let configPath { (fileValues, fileKeys) = try readFile(configPath) }
        for spec in SettingSpec.all {
            let raw = flagValues[spec.key] ?? environment[spec.env] ?? fileValues[spec.key] ?? spec.defaultValue
            configuration.values[spec.key] = try validate(raw, spec)
        }

        let envKeys = (environment["RUNNEL_API_KEYS"] ?? "").split(separator: ",").map {
            String($0).trimmed
        }.filter { !$0.isEmpty }
        let plainKeys = !flagKeys.isEmpty ? flagKeys : envKeys
        if !plainKeys.isEmpty {
            configuration.apiKeys = plainKeys.map { APIKeys.Entry(key: $0, project: projectName(forKey: $0)) }
        } else {
            configuration.apiKeys = fileKeys
        }
        return configuration
    }

    /// A stable project name for a key that came without one; it does not reveal the key.
    static func projectName(forKey key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "key_" + String(hash, radix: 16)
    }

    /// The database setting as logs may show it: a URL without its password.
    static func redactedDatabase(_ setting: String) -> String {
        guard PostgresURL.isPostgres(setting) else { return setting }
        return (try? PostgresURL(setting).description) ?? "postgres://…"
    }

    static func validate(_ raw: String, _ spec: SettingSpec) throws -> String {
        let bad = { (expected: String) in
            ConfigurationError(description: "invalid value '\(raw)' for \(spec.flag) (\(spec.env)): expected \(expected)")
        }
        switch spec.kind {
        case .text:
            guard !raw.isEmpty || spec.defaultValue.isEmpty else { throw bad("a non-empty value") }
            if spec.key == "database", PostgresURL.isPostgres(raw) {
                do {
                    _ = try PostgresURL(raw)
                } catch {
                    throw ConfigurationError(description: "invalid database URL for \(spec.flag) (\(spec.env)): \(error.message)")
                }
            }
            return raw
        case .secret:
            return raw
        case .integer(let range):
            guard let number = Int(raw), range.contains(number) else {
                throw bad("an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return String(number)
        case .seconds:
            // At most a year: durations become timer deadlines, which must not overflow.
            guard let number = Double(raw), number > 0, number <= 31_536_000 else {
                throw bad("a positive number of seconds, at most 31536000")
            }
            return raw
        case .choice(let choices):
            guard let match = choices.first(where: { $0.lowercased() == raw.lowercased() }) else {
                throw bad("one of \(choices.joined(separator: ", "))")
            }
            return match
        }
    }

    /// The JSON config file: the same keys as the flags (with underscores), plus `api_keys`.
    static func readFile(_ path: String) throws -> ([String: String], [APIKeys.Entry]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(description: "cannot read config file \(path)")
        }
        let document: JSONValue
        do {
            document = try JSONValue.parse(Array(data))
        } catch {
            throw ConfigurationError(description: "config file \(path) is not valid JSON: \(error.message)")
        }
        guard case .object(let fields) = document else {
            throw ConfigurationError(description: "config file \(path) must hold a JSON object")
        }
        var values: [String: String] = [:]
        var keys: [APIKeys.Entry] = []
        for (key, value) in fields {
            if key == "api_keys" {
                guard case .array(let items) = value else {
                    throw ConfigurationError(description: "config file \(path): api_keys must be an array")
                }
                for item in items {
                    guard let secret = item["key"]?.stringValue, !secret.isEmpty else {
                        throw ConfigurationError(description: "config file \(path): every api_keys entry needs a non-empty \"key\"")
                    }
                    keys.append(APIKeys.Entry(key: secret, project: item["project"]?.stringValue ?? projectName(forKey: secret)))
                }
                continue
            }
            guard SettingSpec.all.contains(where: { $0.key == key }) else {
                throw ConfigurationError(description: "config file \(path): unknown setting \"\(key)\"")
            }
            switch value {
            case .string(let text): values[key] = text
            case .integer(let number): values[key] = String(number)
            case .number(let number): values[key] = String(number)
            default: throw ConfigurationError(description: "config file \(path): \"\(key)\" must be a string or a number")
            }
        }
        return (values, keys)
    }

    static var helpText: String {
        var text = """
            Usage: runnel serve [options]

            Serves the OpenAI Assistants API (threads, messages, runs) at http://HOST:PORT/v1.
            Every setting has a flag, an environment variable and a config-file key;
            a flag wins over the environment, which wins over the config file.

            Options:
              --config FILE
                  env RUNNEL_CONFIG. A JSON file with any of the config keys below.

            """
        for spec in SettingSpec.all {
            let left = "  \(spec.flag) \(spec.metavar)"
            text += left.padded(to: max(left.count + 2, 31))
            text += "default: \(spec.defaultValue.isEmpty ? "none" : spec.defaultValue)\n"
            text += "      env \(spec.env), config \"\(spec.key)\". \(spec.help)\n"
        }
        text += SettingSpec.apiKeysHelp + "\n"
        text += "  -h, --help\n      Show this help.\n"
        return text
    }
}
