import CodeInterpreter
import Dispatch
import FoundationEssentials
import Glibc
import RunsDomain

/// `runnel code-run [--level a|b|auto] [--python P] [--memory BYTES] [--seconds S] CODE...`: runs
/// each CODE in turn in one sandboxed session, as the code interpreter tool does, and prints each
/// call's result as a line of JSON. It shows an operator what the sandbox allows, and the
/// security tests drive it.
enum CodeRunCommand {
    static func run(arguments: [String]) -> Never {
        var level: SandboxLevel?
        var python = "python3"
        var limits = SandboxLimits()
        var codes: [String] = []
        var index = 0
        func value() -> String {
            index += 1
            guard index < arguments.count else { ServeCommand.fail("\(arguments[index - 1]) needs a value") }
            return arguments[index]
        }
        while index < arguments.count {
            switch arguments[index] {
            case "--level":
                let text = value()
                if text != "auto" {
                    guard let chosen = SandboxLevel(rawValue: text) else { ServeCommand.fail("--level is a, b or auto") }
                    level = chosen
                }
            case "--python": python = value()
            case "--memory": limits.memoryBytes = Int(value()) ?? limits.memoryBytes
            case "--seconds": limits.callSeconds = Double(value()) ?? limits.callSeconds
            default: codes.append(arguments[index])
            }
            index += 1
        }
        guard let interpreter = SandboxProbe.python(python) else { ServeCommand.fail("no Python at \(python)") }
        let programs = SandboxPrograms(python: interpreter, helper: SandboxProbe.helper, bubblewrap: SandboxProbe.executable("bwrap"))
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("runnel-code-\(UUID().uuidString)").path
        let done = DispatchSemaphore(value: 0)
        Task {
            defer { done.signal() }
            let chosen: SandboxLevel
            if let level {
                chosen = level
            } else {
                let outcome = await SandboxProbe.detect(programs: programs, root: root)
                outcome.refusals.forEach { StandardError.write("\($0)\n") }
                guard let found = outcome.level else { ServeCommand.fail("no sandbox level works here") }
                chosen = found
            }
            StandardError.write("sandbox: \(chosen.label)\n")
            let sessions = CodeSessions(level: chosen, programs: programs, limits: limits, root: root)
            defer { sessions.shutdown() }
            for code in codes {
                do {
                    let started = Date()
                    let call = try await sessions.execute(key: "cli", code: code)
                    let elapsed = (Date().timeIntervalSince(started) * 100_000).rounded() / 100
                    let result = call.result
                    let line: JSONValue = [
                        "logs": .string(result.logs), "truncated": .bool(result.truncated), "error": result.error.map(JSONValue.string) ?? .null,
                        "interrupted": .bool(result.interrupted), "reset": .bool(result.reset),
                        "figures": .array(result.figures.map(JSONValue.string)), "outputs": .array(call.outputs.map(JSONValue.string)),
                        "data_path": .string(call.dataPath), "elapsed_ms": .number(elapsed),
                    ]
                    print(String(decoding: line.serialized(), as: UTF8.self))
                } catch {
                    ServeCommand.fail("\(error)")
                }
            }
        }
        done.wait()
        try? FileManager.default.removeItem(atPath: root)
        exit(0)
    }
}
