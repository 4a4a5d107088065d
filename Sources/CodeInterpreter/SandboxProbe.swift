import FoundationEssentials
import Glibc
import RunsDomain

/// Finds which sandbox level works here by starting a session at each and running a line of
/// Python, level A first.
public enum SandboxProbe {
    public struct Outcome: Sendable {
        public var level: SandboxLevel?
        /// Why each level that was tried did not work.
        public var refusals: [String]
    }

    public static func detect(programs: SandboxPrograms, root: String, limits: SandboxLimits = SandboxLimits()) async -> Outcome {
        var refusals: [String] = []
        for level in SandboxLevel.allCases {
            if level == .bubblewrap, programs.bubblewrap == nil {
                refusals.append("level A: bubblewrap (bwrap) is not installed")
                continue
            }
            var probeLimits = limits
            probeLimits.maxSessions = 1
            probeLimits.callSeconds = 30
            let sessions = CodeSessions(level: level, programs: programs, limits: probeLimits, root: root)
            defer { sessions.shutdown() }
            do {
                let call = try await sessions.execute(key: "probe", code: "print(6 * 7)")
                if call.result.logs == "42\n" { return Outcome(level: level, refusals: refusals) }
                refusals.append("level \(level.rawValue.uppercased()): \(call.result.error ?? call.result.logs)")
            } catch {
                refusals.append("level \(level.rawValue.uppercased()): \(error)")
            }
        }
        return Outcome(level: nil, refusals: refusals)
    }

    /// An executable found on PATH (or the path itself when it has a slash).
    /// - Parameter accepting: whether a candidate will do; the search goes on past those it refuses.
    public static func executable(_ name: String, path: String? = ProcessInfo.processInfo.environment["PATH"],
                                  accepting: (String) -> Bool = { _ in true }) -> String? {
        if name.contains("/") {
            let resolved = URL(fileURLWithPath: name).standardizedFileURL.path
            return access(name, X_OK) == 0 && accepting(resolved) ? resolved : nil
        }
        for directory in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0, accepting(candidate) { return candidate }
        }
        return nil
    }

    /// A Python interpreter for sessions: like `executable`, but a script (a pyenv shim, say) is
    /// passed over, since a sandbox cannot run what it execs.
    public static func python(_ name: String) -> String? {
        executable(name) { !isScript($0) }
    }

    private static func isScript(_ path: String) -> Bool {
        guard let file = try? OpenFile.reading(path) else { return true }
        return (try? file.read(upTo: 2)) == Array("#!".utf8)
    }

    /// This binary, whose `sandbox-exec` mode starts every session.
    public static var helper: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}
