import CodeInterpreter
import FoundationEssentials
import Glibc
import Logging
import RunsEngine

/// Sets up the code interpreter at start: finds the Python, probes which sandbox level works
/// here and logs it. With neither level the tool is not offered, and runs forcing it fail with the reason.
enum CodeInterpreterStartup {
    /// The setup, whose probe `start()` runs once the server listens (so the log says
    /// "listening" first and the probe never delays it).
    static func setUp(_ configuration: Configuration, log: Logger) -> CodeInterpreterSetup {
        var limits = SandboxLimits()
        limits.idleSeconds = configuration.seconds("code_session_idle")
        limits.callSeconds = configuration.seconds("code_call_timeout")
        limits.memoryBytes = configuration.int("code_memory_bytes")
        limits.maxSessions = configuration.int("code_max_sessions")
        limits.logBytes = configuration.int("code_log_bytes")
        limits.folderBytes = configuration.int("code_folder_bytes")
        let setting = configuration.string("code_interpreter_python")
        let configured = limits
        return CodeInterpreterSetup {
            let temporary = FileManager.default.temporaryDirectory.path
            removeAbandonedSessions(in: temporary, log: log)
            guard let python = SandboxProbe.python(setting) else {
                // The slim image has no Python on purpose: worth knowing, not a fault.
                log.info("code interpreter: unavailable, no Python at '\(setting)' (scripts/code-python.sh or the image's full target provide one)")
                return .unavailable("The code interpreter is unavailable on this server: no Python at '\(setting)' (set --code-interpreter-python).")
            }
            let programs = SandboxPrograms(python: python, helper: SandboxProbe.helper, bubblewrap: SandboxProbe.executable("bwrap"))
            let root = temporary + "/runnel-code-\(getpid())"
            let outcome = await SandboxProbe.detect(programs: programs, root: root, limits: configured)
            guard let level = outcome.level else {
                let reasons = outcome.refusals.joined(separator: "; ")
                log.warning("code interpreter: unavailable, no sandbox level works here: \(reasons)")
                return .unavailable("The code interpreter is unavailable on this server: no sandbox works there (\(reasons)).")
            }
            for refusal in outcome.refusals { log.info("code interpreter: \(refusal)") }
            log.info("code interpreter: \(level.label), Python \(python)")
            let sessions = CodeSessions(level: level, programs: programs, limits: configured, root: root)
            sessions.startEvicting()
            return .ready(sessions)
        }
    }

    /// Session folders of servers that died without ending them (kill -9): their process is gone.
    private static func removeAbandonedSessions(in temporary: String, log: Logger) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: temporary)) ?? [] where name.hasPrefix("runnel-code-") {
            guard let pid = Int32(name.dropFirst("runnel-code-".count)), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            if (try? FileManager.default.removeItem(atPath: temporary + "/" + name)) != nil {
                log.info("code interpreter: removed the sessions a stopped server (pid \(pid)) left in \(temporary)")
            }
        }
    }
}
